import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { ScheduleModule } from '@nestjs/schedule';
import type { Request } from 'express';
import type { FastifyRequest } from 'fastify';
import { BackJobModule, type BackJobLiveOptions } from 'nestjs-backjob';
import { storeSetup } from './fixtures/store-setup.js';
import { TEST_KEY } from './fixtures/test-app.js';

/** An adapter BackJob does not know: Express's, under another name. */
class UnknownAdapter extends ExpressAdapter {
  override getType(): string {
    return 'koa';
  }
}

describe('the HTTP platform', () => {
  it('refuses to start on an adapter other than Express or Fastify, naming both', async () => {
    const { setup } = storeSetup('memory');
    @Module({
      imports: [
        ...setup.imports,
        ScheduleModule.forRoot(),
        BackJobModule.forRoot({ key: TEST_KEY, ...setup.backjob }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, new UnknownAdapter(), {
      logger: false,
      abortOnError: false,
    });
    try {
      await expect(app.init()).rejects.toThrow(
        'BackJob runs on Express and Fastify, and this app\'s HTTP adapter is "koa". Create the app with @nestjs/platform-express or @nestjs/platform-fastify.',
      );
    } finally {
      await app.close();
      await setup.remove(false);
    }
  });

  // A type check more than a test: `npm run typecheck` fails if canWatch()
  // stops taking either platform's own request type.
  it("lets canWatch() take Express's Request or Fastify's FastifyRequest", () => {
    const options = [
      { canWatch: (_job, request: Request) => request.path !== '' },
      { canWatch: (_job, request: FastifyRequest) => request.id !== '' },
    ] satisfies BackJobLiveOptions[];
    expect(options).toHaveLength(2);
  });
});
