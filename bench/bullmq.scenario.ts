import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { Lanes, summarize, type ScenarioResult } from './stats.js';

/** BullMQ on Redis: add() → worker → completed, four progress updates per job. */
export async function runBullMq(
  redisUrl: string,
  jobs: number,
  concurrency: number,
): Promise<ScenarioResult> {
  const queueName = `backjob-bench-${process.pid}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection });
  await queue.obliterate({ force: true }).catch(() => undefined);
  const pickups: number[] = [];
  const lanes = new Lanes(pickups);
  const worker = new Worker(
    queueName,
    async (job) => {
      pickups.push(performance.now() - job.data.enqueuedAt);
      for (const progress of [25, 50, 75, 100])
        await job.updateProgress(progress);
      return 'ok';
    },
    {
      connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
      concurrency,
    },
  );
  worker.on('completed', (job) => lanes.done(job.data.lane));
  await worker.waitUntilReady();

  const measuring = await lanes.drive(jobs, concurrency, (lane, enqueuedAt) =>
    queue.add('noop', { lane, enqueuedAt }, { removeOnComplete: true }),
  );
  const result = summarize('BullMQ (Redis)', jobs, concurrency, measuring);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return result;
}
