import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import { exampleConfig } from './example.config.js';

async function bootstrap() {
  const app = await NestFactory.create<NestExpressApplication>(AppModule);
  app.enableShutdownHooks();
  await app.listen(exampleConfig.port, exampleConfig.host);
  new Logger('Example').log(
    `Open http://${exampleConfig.host}:${exampleConfig.port}/ to start a job and watch its progress.`,
  );
}

void bootstrap();
