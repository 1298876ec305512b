import { createKeyv } from '@keyv/redis';
import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BackJobExceptionFilter, BackJobModule } from 'nestjs-backjob';
import { databaseOptions, exampleConfig } from './example.config.js';
import { JobsModule } from './jobs/jobs.module.js';

// With REDIS_URL, Redis sits in front of the database: BackJob finds it as
// CACHE_MANAGER, and several instances share it.
const cache = exampleConfig.redisUrl
  ? [
      CacheModule.register({
        isGlobal: true,
        stores: [createKeyv(exampleConfig.redisUrl)],
      }),
    ]
  : [];

@Module({
  imports: [
    TypeOrmModule.forRoot(databaseOptions()),
    ...cache,
    ScheduleModule.forRoot(),
    BackJobModule.forRoot({
      key: exampleConfig.backjobKey,
      baseUrl: exampleConfig.backjobBaseUrl,
      useCache: cache.length > 0,
      errorTimeout: exampleConfig.errorTimeout,
      sweepInterval: exampleConfig.sweepInterval,
      tableName: exampleConfig.tableName,
      cachePrefix: exampleConfig.cachePrefix,
    }),
    JobsModule,
  ],
  // BackJob's errors as the answers they stand for: a bad job request 400,
  // an unknown job 404, a database that is down 503 (not 500).
  providers: [{ provide: APP_FILTER, useClass: BackJobExceptionFilter }],
})
export class AppModule {}
