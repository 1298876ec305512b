import { createKeyv } from '@keyv/redis';
import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BackJobModule } from 'nestjs-backjob';
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
})
export class AppModule {}
