import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobLedger } from '../ledger.js';
import { childNames, serviceUrl } from '../resources.js';
import type { QueueSystem } from './queue-system.js';

/**
 * BullMQ on Redis as its documentation runs it: one Queue to add() to, one
 * Worker with `concurrency` in the same process, four awaited
 * updateProgress() calls per job. Completed jobs are kept (BullMQ's default)
 * so that they can be read back; obliterate() removes the queue at the end.
 */
export async function openBullMq(
  ledger: JobLedger,
  concurrency: number,
): Promise<QueueSystem> {
  const names = childNames();
  // The key prefix keeps every key of the run under the bench's Redis prefix.
  const prefix = `${names.redis}bull`;
  const queueName = 'noop';
  const connect = () =>
    new Redis(serviceUrl('redis'), { maxRetriesPerRequest: null });
  const producer = connect();
  const consumer = connect();
  const queue = new Queue(queueName, { connection: producer, prefix });
  const worker = new Worker<{ seq: number; at: number }>(
    queueName,
    async (job) => {
      ledger.enter(job.data.seq, job.data.at);
      for (const progress of [25, 50, 75, 100])
        await job.updateProgress(progress);
      ledger.leave(job.data.seq);
      return 'ok';
    },
    { connection: consumer, prefix, concurrency },
  );
  worker.on('error', () => undefined);
  await worker.waitUntilReady();
  return {
    async enqueue(seq, at) {
      const job = await queue.add('noop', { seq, at });
      return job.id!;
    },
    readStatus: (id) => queue.getJob(id),
    async endedCounts() {
      const counts = await queue.getJobCounts('completed', 'failed');
      return { completed: counts.completed, other: counts.failed };
    },
    async close() {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      producer.disconnect();
      consumer.disconnect();
    },
  };
}
