import type { Platform } from '../apps/bench-app.js';
import type { StoreKind } from '../apps/bench-store.js';
import type { Sample } from '../figures.js';
import { JobLedger } from '../ledger.js';
import type { QueueSystem } from '../queue/queue-system.js';
import { runWorkload, type WorkloadSizes } from '../queue/workload.js';

export interface QueueRun {
  scenario: 'queue';
  engine:
    | { name: 'backjob'; store: StoreKind; platform: Platform }
    | { name: 'bullmq' }
    | { name: 'pgboss' };
  sizes: WorkloadSizes;
}

/** The common workload on one system; its figures are comparable across systems. */
export async function queueScenario(
  run: QueueRun,
  system: string,
): Promise<Sample[]> {
  const ledger = new JobLedger();
  const concurrency = run.sizes.inFlight;
  const engine = run.engine;
  // Imported here: a BullMQ child loads neither Nest nor pg-boss.
  let queue: QueueSystem;
  if (engine.name === 'backjob') {
    const { openBackJob } = await import('../queue/backjob.system.js');
    queue = await openBackJob(
      engine.store,
      engine.platform,
      ledger,
      concurrency,
    );
  } else if (engine.name === 'bullmq') {
    const { openBullMq } = await import('../queue/bullmq.system.js');
    queue = await openBullMq(ledger, concurrency);
  } else {
    const { openPgBoss } = await import('../queue/pgboss.system.js');
    queue = await openPgBoss(ledger, concurrency);
  }
  try {
    return await runWorkload(queue, ledger, run.sizes, system);
  } finally {
    await queue.close();
  }
}
