import { PgBoss } from 'pg-boss';
import { withPostgres } from '../cleanup.js';
import type { JobLedger } from '../ledger.js';
import { childNames, serviceUrl } from '../resources.js';
import type { QueueSystem } from './queue-system.js';

// Batch fetching as pg-boss recommends it for throughput: each of the
// `localConcurrency` workers fetches up to BATCH_SIZE jobs per query and
// runs them together; `burstWhenBatchFull` fetches again at once while
// batches come back full. Workers × batch = the in-flight count.
const BATCH_SIZE = 10;

/**
 * pg-boss on PostgreSQL, with LISTEN/NOTIFY (`useListenNotify` and a
 * `notify` queue) so that a send() wakes a worker at once instead of after
 * its polling interval, and batch fetching. pg-boss has no progress API:
 * its jobs do no updates. Its schema is the child's own and is dropped at
 * the end.
 */
export async function openPgBoss(
  ledger: JobLedger,
  concurrency: number,
): Promise<QueueSystem> {
  const schema = childNames().sql;
  const boss = new PgBoss({
    connectionString: serviceUrl('postgres'),
    schema,
    useListenNotify: true,
  });
  boss.on('error', () => undefined);
  const dropSchema = () =>
    withPostgres(serviceUrl('postgres'), (db) =>
      db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
    );
  try {
    await boss.start();
    const queue = 'noop';
    await boss.createQueue(queue, { notify: true });
    await boss.work<{ seq: number; at: number }>(
      queue,
      {
        batchSize: BATCH_SIZE,
        localConcurrency: Math.max(1, Math.round(concurrency / BATCH_SIZE)),
        burstWhenBatchFull: true,
      },
      async (jobs) => {
        for (const job of jobs) {
          ledger.enter(job.data.seq, job.data.at);
          ledger.leave(job.data.seq);
        }
      },
    );
    const counts = `SELECT COUNT(*) FILTER (WHERE state = 'completed')::int AS completed, COUNT(*) FILTER (WHERE state IN ('failed', 'cancelled'))::int AS other FROM "${schema}".job WHERE name = $1`;
    return {
      async enqueue(seq, at) {
        const id = await boss.send(queue, { seq, at });
        if (id === null) throw new Error('pg-boss refused a job.');
        return id;
      },
      readStatus: async (id) => (await boss.findJobs(queue, { id }))[0],
      async endedCounts() {
        const { rows } = await boss.getDb().executeSql(counts, [queue]);
        const row = rows[0] as { completed: number; other: number };
        return { completed: row.completed, other: row.other };
      },
      async close() {
        await boss.stop({ graceful: false });
        await dropSchema();
      },
    };
  } catch (error) {
    await boss.stop({ graceful: false }).catch(() => undefined);
    await dropSchema();
    throw error;
  }
}
