import PgBoss from 'pg-boss';
import { performance } from 'node:perf_hooks';
import { percentile, runBounded, type ScenarioResult } from './stats.js';

/**
 * pg-boss on PostgreSQL: send() → worker → completed. pg-boss has no progress
 * API, so its jobs do no updates; the producer wakes the workers with
 * notifyWorker() after each send, its fastest pickup (else it polls every 0.5 s).
 */
export async function runPgBoss(
  postgresUrl: string,
  jobs: number,
  concurrency: number,
): Promise<ScenarioResult> {
  const boss = new PgBoss({
    connectionString: postgresUrl,
    schema: 'backjob_bench_pgboss',
    max: 20,
  });
  boss.on('error', () => undefined);
  await boss.start();
  const queueName = `bench-${process.pid}`;
  await boss.createQueue(queueName);
  const pickups: number[] = [];
  const completed = new Map<string, () => void>();
  const workerIds: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    workerIds.push(
      await boss.work<{ lane: string; enqueuedAt: number }>(
        queueName,
        { pollingIntervalSeconds: 0.5, batchSize: 1 },
        async ([job]) => {
          pickups.push(performance.now() - job.data.enqueuedAt);
          // Resolved after pg-boss has recorded the completion.
          setImmediate(() =>
            setTimeout(() => completed.get(job.data.lane)?.(), 0),
          );
        },
      ),
    );
  }
  const enqueues: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  const began = performance.now();
  let wake = 0;
  await runBounded(jobs, concurrency, async (_i, lane) => {
    const done = new Promise<void>((resolve) =>
      completed.set(String(lane), resolve),
    );
    const enqueuedAt = performance.now();
    await boss.send(queueName, { lane: String(lane), enqueuedAt });
    enqueues.push(performance.now() - enqueuedAt);
    boss.notifyWorker(workerIds[wake++ % workerIds.length]);
    await done;
  });
  const elapsed = performance.now() - began;
  const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  await boss.deleteQueue(queueName).catch(() => undefined);
  await boss.stop({ graceful: false, wait: true });
  return {
    name: 'pg-boss 10 (PostgreSQL)',
    jobs,
    concurrency,
    throughput: (jobs / elapsed) * 1000,
    pickupP50: percentile(pickups, 50),
    pickupP95: percentile(pickups, 95),
    enqueueP50: percentile(enqueues, 50),
    rssGrowthMiB,
  };
}
