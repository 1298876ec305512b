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
import {
  percentile,
  runBounded,
  waitUntil,
  type ScenarioResult,
} from './stats.js';

const TABLE = 'bench_background_job';
const pickups: number[] = [];
const handled = new Map<string, () => void>();

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
    handled.get(lane)?.();
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

  const enqueues: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  const began = performance.now();
  await runBounded(jobs, concurrency, async (_i, lane) => {
    const done = new Promise<void>((resolve) =>
      handled.set(String(lane), resolve),
    );
    const enqueuedAt = performance.now();
    await backjob.start(`bench/noop/${lane}/${enqueuedAt}`, { merge: false });
    enqueues.push(performance.now() - enqueuedAt);
    await done;
  });
  await waitUntil(async () => {
    const [row] = await dataSource.query(
      `SELECT COUNT(*) AS n FROM ${TABLE} WHERE status = 2`,
    );
    return Number(row.n) >= jobs;
  });
  const elapsed = performance.now() - began;
  const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  await dataSource.query(`DELETE FROM ${TABLE}`);
  await app.close();
  return {
    name,
    jobs,
    concurrency,
    throughput: (jobs / elapsed) * 1000,
    pickupP50: percentile(pickups, 50),
    pickupP95: percentile(pickups, 95),
    enqueueP50: percentile(enqueues, 50),
    rssGrowthMiB,
  };
}
