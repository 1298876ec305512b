import { performance } from 'node:perf_hooks';
import { createBenchApp } from '../apps/bench-app.js';
import { prepareStore } from '../apps/bench-store.js';
import { Gate } from '../apps/gate.js';
import { endedCounts } from '../apps/job-rows.js';
import {
  JobScript,
  scriptedJobApp,
  scriptedRoute,
} from '../apps/scripted-job.controller.js';
import type { Sample } from '../figures.js';
import { JobLedger } from '../ledger.js';
import { collectGarbage, openSockets, waitUntil } from '../stats.js';

export interface MemoryRun {
  scenario: 'memory';
  /** Jobs held running at once (also the app's maxConcurrentJobs). */
  jobs: number;
}

const WARMUP_JOBS = 20;

/** JavaScript heap and the memory outside it (buffers), after a full collection. */
function usedBytes(): number {
  collectGarbage();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/**
 * What each running job holds, on SQLite: `jobs` jobs held inside their
 * handler, against the same app idle after it ran WARMUP_JOBS jobs one at a
 * time (so compiled code, pools and caches are in both). Memory is the heap and external
 * memory after a forced collection; sockets are this process's TCP handles,
 * both ends of a loopback connection counted.
 */
export async function memoryScenario(run: MemoryRun): Promise<Sample[]> {
  const store = await prepareStore('sqlite');
  const ledger = new JobLedger();
  const script = new JobScript();
  let gate = new Gate();
  script.run = () => gate.passed;
  try {
    const { app, backjob, dataSource } = await createBenchApp({
      store,
      platform: 'express',
      ...scriptedJobApp(ledger, script),
      backjob: { maxConcurrentJobs: run.jobs },
    });
    try {
      let next = 0;
      const holdJobs = async (count: number) => {
        const dones: Promise<void>[] = [];
        for (let i = 0; i < count; i++) {
          const seq = next++;
          dones.push(ledger.whenDone(seq));
          await backjob.start(scriptedRoute(seq, performance.now()));
        }
        await waitUntil(
          () => ledger.distinctRuns === next,
          () => `${ledger.distinctRuns} of ${next} jobs are running`,
        );
        return dones;
      };
      const finish = async (dones: Promise<void>[]) => {
        gate.open();
        await Promise.all(dones);
        await waitUntil(
          async () =>
            (await endedCounts(dataSource, store.table)).completed === next,
          () => 'not every job completed',
        );
        gate = new Gate();
      };

      // Warm-up one job at a time: code compiled, pools and caches filled,
      // but a single idle keep-alive connection left for the held jobs to
      // reuse, so that each of them (but one) shows the sockets it opens.
      for (let i = 0; i < WARMUP_JOBS; i++) await finish(await holdJobs(1));
      const idleBytes = usedBytes();
      const idleSockets = openSockets();
      const held = await holdJobs(run.jobs);
      const heldBytes = usedBytes();
      const heldSockets = openSockets();
      await finish(held);
      ledger.assertExactlyOnce(next, 'memory');
      return [
        {
          figure: 'memoryPerJob',
          value: (heldBytes - idleBytes) / run.jobs / 1024,
        },
        {
          figure: 'socketsPerJob',
          value: (heldSockets - idleSockets) / run.jobs,
        },
      ];
    } finally {
      gate.open();
      await app.close();
    }
  } finally {
    await store.remove();
  }
}
