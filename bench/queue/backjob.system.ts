import { Controller, Get, Param } from '@nestjs/common';
import { BackgroundWorker, BackJobService } from 'nestjs-backjob';
import { createBenchApp, type Platform } from '../apps/bench-app.js';
import { prepareStore, type StoreKind } from '../apps/bench-store.js';
import { endedCounts } from '../apps/job-rows.js';
import { JobLedger } from '../ledger.js';
import type { QueueSystem } from './queue-system.js';

@Controller('bench')
class NoopJobController {
  constructor(
    private readonly backjob: BackJobService,
    private readonly ledger: JobLedger,
  ) {}

  /** The no-op job with four progress updates; `at` is when start() was called. */
  @Get('noop/:seq/:at')
  @BackgroundWorker()
  noop(@Param('seq') seq: string, @Param('at') at: string): string {
    this.ledger.enter(Number(seq), Number(at));
    for (const progress of [25, 50, 75, 100]) this.backjob.update(progress);
    this.ledger.leave(Number(seq));
    return 'ok';
  }
}

/**
 * BackJob: start() → its monitor → the worker request → completed, as an
 * app runs it. `maxConcurrentJobs` matches the peers' worker concurrency so
 * that every system may run as many jobs at once.
 */
export async function openBackJob(
  kind: StoreKind,
  platform: Platform,
  ledger: JobLedger,
  concurrency: number,
): Promise<QueueSystem> {
  const store = await prepareStore(kind);
  const { app, backjob, dataSource } = await createBenchApp({
    store,
    platform,
    controllers: [NoopJobController],
    providers: [{ provide: JobLedger, useValue: ledger }],
    backjob: { maxConcurrentJobs: concurrency },
  }).catch(async (error: unknown) => {
    await store.remove();
    throw error;
  });
  return {
    enqueue: (seq, at) => backjob.start(`bench/noop/${seq}/${at}`),
    readStatus: (id) => backjob.getStatus(id),
    endedCounts: () => endedCounts(dataSource, store.table),
    async close() {
      await app.close();
      await store.remove();
    },
  };
}
