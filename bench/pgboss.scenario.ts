import PgBoss from 'pg-boss';
import { performance } from 'node:perf_hooks';
import { Lanes, summarize, type ScenarioResult } from './stats.js';

/**
 * pg-boss on PostgreSQL: send() → worker → completed. pg-boss has no progress
 * API, so its jobs do no updates; the producer wakes a worker with
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
  const lanes = new Lanes(pickups);
  const workerIds: string[] = [];
  for (let i = 0; i < concurrency; i++) {
    workerIds.push(
      await boss.work<{ lane: string; enqueuedAt: number }>(
        queueName,
        { pollingIntervalSeconds: 0.5, batchSize: 1 },
        async ([job]) => {
          pickups.push(performance.now() - job.data.enqueuedAt);
          // Once pg-boss has recorded the completion that follows this return.
          setImmediate(() => setTimeout(() => lanes.done(job.data.lane), 0));
        },
      ),
    );
  }
  let wake = 0;
  const measuring = await lanes.drive(
    jobs,
    concurrency,
    async (lane, enqueuedAt) => {
      await boss.send(queueName, { lane, enqueuedAt });
      boss.notifyWorker(workerIds[wake++ % workerIds.length]);
    },
  );
  const result = summarize(
    'pg-boss 10 (PostgreSQL)',
    jobs,
    concurrency,
    measuring,
  );
  await boss.deleteQueue(queueName).catch(() => undefined);
  await boss.stop({ graceful: false, wait: true });
  return result;
}
