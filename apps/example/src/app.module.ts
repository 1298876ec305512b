import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BackJobModule } from 'nestjs-backjob';
import { databaseOptions, exampleConfig } from './example.config.js';
import { JobsModule } from './jobs/jobs.module.js';

@Module({
  imports: [
    TypeOrmModule.forRoot(databaseOptions()),
    ScheduleModule.forRoot(),
    BackJobModule.forRoot({
      key: exampleConfig.backjobKey,
      baseUrl: exampleConfig.backjobBaseUrl,
    }),
    JobsModule,
  ],
})
export class AppModule {}
