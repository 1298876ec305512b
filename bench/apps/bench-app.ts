import 'reflect-metadata';
import {
  Module,
  type INestApplication,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import {
  BackJobModule,
  BackJobService,
  type BackJobModuleOptions,
} from 'nestjs-backjob';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { BenchStore } from './bench-store.js';

export type Platform = 'express' | 'fastify';

/** Any key of 32 characters or more; every instance of one store shares it. */
const BENCH_KEY = 'bench-key-bench-key-bench-key-bench-key';

export interface BenchAppOptions {
  store: BenchStore;
  platform: Platform;
  controllers: Type[];
  providers?: Provider[];
  /** False for the same app without BackJobModule (the plain-route baseline). */
  withBackJob?: boolean;
  backjob?: BackJobModuleOptions;
  /** A TypeORM data source name of its own, for a second app in the process. */
  dataSourceName?: string;
}

export interface BenchApp {
  app: INestApplication;
  url: string;
  /** Throws for an app without BackJob. */
  readonly backjob: BackJobService;
  dataSource: DataSource;
}

/**
 * A Nest app as a user writes it: their TypeORM and Schedule modules,
 * BackJobModule imported from the built package (`nestjs-backjob` resolves
 * to libs/backjob/dist through the workspace link, as an installed package
 * would), on a loopback port. Platform defaults, no tuning.
 */
export async function createBenchApp(
  options: BenchAppOptions,
): Promise<BenchApp> {
  const withBackJob = options.withBackJob ?? true;
  @Module({
    imports: [
      ...options.store.imports(options.dataSourceName),
      ScheduleModule.forRoot(),
      ...(withBackJob
        ? [
            BackJobModule.forRoot({
              key: BENCH_KEY,
              ...options.store.backjob,
              ...options.backjob,
              dataSource: options.dataSourceName,
            }),
          ]
        : []),
    ],
    controllers: options.controllers,
    providers: options.providers ?? [],
  })
  class BenchModule {}

  const logger = ['error' as const, 'warn' as const];
  let app: INestApplication;
  if (options.platform === 'express') {
    app = await NestFactory.create(BenchModule, { logger });
  } else {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(BenchModule, new FastifyAdapter(), {
      logger,
    });
  }
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    get backjob() {
      return app.get(BackJobService);
    },
    dataSource: app.get<DataSource>(getDataSourceToken(options.dataSourceName)),
  };
}
