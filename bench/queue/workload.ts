import { performance } from 'node:perf_hooks';
import type { JobLedger } from '../ledger.js';
import type { Sample } from '../figures.js';
import { percentile, sleep, waitUntil } from '../stats.js';
import type { QueueSystem } from './queue-system.js';

export interface WorkloadSizes {
  /** Jobs run first and not measured: JIT, pools and caches warm up. */
  warmup: number;
  /**
   * Jobs run one at a time, each enqueued once the store has recorded the
   * one before completed: its answer and end write are over, nothing runs.
   */
  pickup: number;
  /**
   * How long nothing runs before each pickup job's enqueue call
   * (`--pickup-idle`): 0 calls it as soon as the store is seen to record
   * the one before, which it is polled for every millisecond.
   */
  pickupIdleMs: number;
  /** Jobs enqueued back to back, each call awaited before the next. */
  enqueue: number;
  /** Jobs run end to end, `inFlight` at a time. */
  endToEnd: number;
  inFlight: number;
  /** Status reads, one at a time, of jobs that have ended. */
  statusReads: number;
}

/**
 * The same work for every system, in phases, each measuring one thing:
 * pickup (enqueue call → handler's first line, nothing else running: not
 * even the tail of the job before, whose end a system may still be writing
 * when its handler has returned),
 * enqueue (the call itself, one after another, while the system runs the
 * jobs as it would in an app), end to end (jobs/s with `inFlight` lanes, each
 * enqueueing its next job when its last one left the handler, until the
 * store has recorded every job completed), and status reads. Then every job
 * must have run exactly once and be recorded completed.
 */
export async function runWorkload(
  system: QueueSystem,
  ledger: JobLedger,
  sizes: WorkloadSizes,
  what: string,
): Promise<Sample[]> {
  let next = 0;
  const oneJob = async () => {
    const seq = next++;
    const done = ledger.whenDone(seq);
    await system.enqueue(seq, performance.now());
    await done;
  };

  for (let i = 0; i < sizes.warmup; i++) await oneJob();

  const pickupsFrom = ledger.pickups.length;
  for (let i = 0; i < sizes.pickup; i++) {
    if (sizes.pickupIdleMs > 0) await sleep(sizes.pickupIdleMs);
    await oneJob();
    await allRecorded(system, next, what, 1);
  }
  const pickups = ledger.pickups.slice(pickupsFrom);

  // Enqueue: the calls back to back; the jobs run meanwhile, as in an app.
  const calls: number[] = [];
  const ids: string[] = [];
  const dones: Promise<void>[] = [];
  const enqueueBegan = performance.now();
  for (let i = 0; i < sizes.enqueue; i++) {
    const seq = next++;
    dones.push(ledger.whenDone(seq));
    const called = performance.now();
    ids.push(await system.enqueue(seq, called));
    calls.push(performance.now() - called);
  }
  const enqueueMs = performance.now() - enqueueBegan;
  await Promise.all(dones);
  await allRecorded(system, next, what);

  const endToEndBegan = performance.now();
  const lastSeq = next + sizes.endToEnd;
  await Promise.all(
    Array.from({ length: sizes.inFlight }, async () => {
      while (next < lastSeq) await oneJob();
    }),
  );
  await allRecorded(system, next, what, 1);
  const endToEndMs = performance.now() - endToEndBegan;

  const reads: number[] = [];
  for (let i = 0; i < sizes.statusReads; i++) {
    const id = ids[i % ids.length];
    const began = performance.now();
    const status = await system.readStatus(id);
    reads.push(performance.now() - began);
    if (!status) throw new Error(`${what}: job ${id} could not be read back.`);
  }

  // A job run twice could start late: give it the time to show.
  await sleep(100);
  ledger.assertExactlyOnce(next, what);
  const ended = await system.endedCounts();
  if (ended.completed !== next || ended.other !== 0)
    throw new Error(
      `${what}: ${next} jobs ran, but ${ended.completed} are recorded completed and ${ended.other} otherwise ended.`,
    );

  return [
    { figure: 'endToEnd', value: (sizes.endToEnd / endToEndMs) * 1000 },
    { figure: 'pickupP50', value: percentile(pickups, 50) },
    { figure: 'enqueueRate', value: (sizes.enqueue / enqueueMs) * 1000 },
    { figure: 'enqueueP50', value: percentile(calls, 50) },
    { figure: 'statusP50', value: percentile(reads, 50) },
  ];
}

/** Resolves once the store records all `count` jobs completed. */
async function allRecorded(
  system: QueueSystem,
  count: number,
  what: string,
  everyMs = 5,
): Promise<void> {
  let last = { completed: 0, other: 0 };
  await waitUntil(
    async () => {
      last = await system.endedCounts();
      return last.completed + last.other >= count;
    },
    () =>
      `${what}: ${last.completed} of ${count} jobs recorded completed, ${last.other} otherwise ended`,
    60_000,
    everyMs,
  );
}
