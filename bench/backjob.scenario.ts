import 'reflect-metadata';
import {
  Controller,
  Get,
  Module,
  Param,
  type DynamicModule,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import {
  BackgroundWorker,
  BackJobModule,
  BackJobService,
} from 'nestjs-backjob';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { Lanes, summarize, waitUntil, type ScenarioResult } from './stats.js';

const TABLE = 'bench_background_job';
const pickups: number[] = [];
const lanes = new Lanes(pickups);

@Controller('bench')
class BenchController {
  constructor(private readonly backjob: BackJobService) {}

  /** A no-op job with four progress updates, like the peers' jobs. */
  @Get('noop/:lane/:enqueuedAt')
  @BackgroundWorker()
  noop(
    @Param('lane') lane: string,
    @Param('enqueuedAt') enqueuedAt: string,
  ): string {
    pickups.push(performance.now() - Number(enqueuedAt));
    for (const progress of [25, 50, 75, 100]) this.backjob.update(progress);
    lanes.done(lane);
    return 'ok';
  }
}

/** BackJob on the given database: start() → monitor → worker → completed. */
export async function runBackJob(
  name: string,
  database: TypeOrmModuleOptions,
  jobs: number,
  concurrency: number,
): Promise<ScenarioResult> {
  @Module({
    imports: [
      TypeOrmModule.forRoot(database) as DynamicModule,
      ScheduleModule.forRoot(),
      BackJobModule.forRoot({
        key: 'bench-key-bench-key-bench-key-bench-key',
        tableName: TABLE,
      }),
    ],
    controllers: [BenchController],
  })
  class BenchModule {}

  const app = await NestFactory.create(BenchModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const backjob = app.get(BackJobService);
  const dataSource = app.get(DataSource);
  await dataSource.query(`DELETE FROM ${TABLE}`);
  pickups.length = 0;

  const measuring = await lanes.drive(jobs, concurrency, (lane, enqueuedAt) =>
    backjob.start(`bench/noop/${lane}/${enqueuedAt}`, { merge: false }),
  );
  // The handler has returned; the job is done once its final status is stored.
  await waitUntil(async () => {
    const [row] = await dataSource.query(
      `SELECT COUNT(*) AS n FROM ${TABLE} WHERE status = 2`,
    );
    return Number(row.n) >= jobs;
  });
  const result = summarize(name, jobs, concurrency, measuring);
  await dataSource.query(`DELETE FROM ${TABLE}`);
  await app.close();
  return result;
}
