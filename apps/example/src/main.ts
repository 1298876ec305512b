import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { exampleConfig } from './example.config.js';

/**
 * The app on Express (Nest's default) or, with PLATFORM=fastify, on
 * Fastify. BackJob needs nothing else on Fastify: Nest's Fastify adapter
 * parses JSON and url-encoded bodies itself.
 */
async function createApp(): Promise<INestApplication> {
  if (exampleConfig.platform === 'express')
    return NestFactory.create(AppModule);
  // Loaded only when asked for, so that the Express app never loads Fastify.
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  return NestFactory.create(AppModule, new FastifyAdapter());
}

async function bootstrap() {
  const app = await createApp();
  app.enableShutdownHooks();
  await app.listen(exampleConfig.port, exampleConfig.host);
  new Logger('Example').log(
    `Open http://${exampleConfig.host}:${exampleConfig.port}/ to start a job and watch its progress (on ${exampleConfig.platform}).`,
  );
}

void bootstrap();
