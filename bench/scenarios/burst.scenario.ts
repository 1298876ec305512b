import { performance } from 'node:perf_hooks';
import { createBenchApp, type Platform } from '../apps/bench-app.js';
import { prepareStore } from '../apps/bench-store.js';
import { endedCounts } from '../apps/job-rows.js';
import {
  JobScript,
  scriptedJobApp,
  scriptedRoute,
} from '../apps/scripted-job.controller.js';
import type { Sample } from '../figures.js';
import { JobLedger } from '../ledger.js';
import { percentile, sleep, waitUntil } from '../stats.js';

export interface BurstRun {
  scenario: 'burst';
  jobs: number;
  platform: Platform;
}

/**
 * `jobs` start() calls at once, on SQLite with the module's defaults
 * (maxConcurrentJobs 20): how long each call waits, the process's peak RSS
 * (the kernel's high-water mark: the burst runs first in its process, and
 * nothing else in it builds an app), and whether
 * every job ran exactly once. The job does nothing: the burst is about
 * start() and the queue behind it.
 */
export async function burstScenario(run: BurstRun): Promise<Sample[]> {
  const store = await prepareStore('sqlite');
  const ledger = new JobLedger();
  const script = new JobScript();
  try {
    const { app, backjob, dataSource } = await createBenchApp({
      store,
      platform: run.platform,
      ...scriptedJobApp(ledger, script),
    });
    try {
      const latencies: number[] = [];
      await Promise.all(
        Array.from({ length: run.jobs }, async (_, seq) => {
          const called = performance.now();
          await backjob.start(scriptedRoute(seq, called));
          latencies.push(performance.now() - called);
        }),
      );
      let ended = { completed: 0, other: 0 };
      await waitUntil(
        async () => {
          ended = await endedCounts(dataSource, store.table);
          return ended.completed + ended.other >= run.jobs;
        },
        () =>
          `${ended.completed} of ${run.jobs} burst jobs completed, ${ended.other} otherwise ended`,
        120_000,
        20,
      );
      // A job run twice could start late: give it the time to show.
      await sleep(100);
      ledger.assertExactlyOnce(run.jobs, 'burst');
      if (ended.completed !== run.jobs)
        throw new Error(
          `burst: ${ended.other} of ${run.jobs} jobs did not complete.`,
        );
      return [
        { figure: 'burstStartP99', value: percentile(latencies, 99) },
        {
          figure: 'burstPeakRss',
          value: process.resourceUsage().maxRSS / 1024,
        },
        { figure: 'burstExactlyOnce', value: 1 },
      ];
    } finally {
      await app.close();
    }
  } finally {
    await store.remove();
  }
}
