import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { percentile, runBounded, type ScenarioResult } from './stats.js';

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
  const completed = new Map<string, () => void>();
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
  worker.on('completed', (job) => completed.get(job.data.lane)?.());
  await worker.waitUntilReady();

  const enqueues: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  const began = performance.now();
  await runBounded(jobs, concurrency, async (_i, lane) => {
    const done = new Promise<void>((resolve) =>
      completed.set(String(lane), resolve),
    );
    const enqueuedAt = performance.now();
    await queue.add(
      'noop',
      { lane: String(lane), enqueuedAt },
      { removeOnComplete: true },
    );
    enqueues.push(performance.now() - enqueuedAt);
    await done;
  });
  const elapsed = performance.now() - began;
  const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return {
    name: 'BullMQ (Redis)',
    jobs,
    concurrency,
    throughput: (jobs / elapsed) * 1000,
    pickupP50: percentile(pickups, 50),
    pickupP95: percentile(pickups, 95),
    enqueueP50: percentile(enqueues, 50),
    rssGrowthMiB,
  };
}
