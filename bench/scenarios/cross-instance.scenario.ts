import { performance } from 'node:perf_hooks';
import { createBenchApp, type BenchApp } from '../apps/bench-app.js';
import { prepareStore } from '../apps/bench-store.js';
import { Gate } from '../apps/gate.js';
import {
  JobScript,
  scriptedJobApp,
  scriptedRoute,
} from '../apps/scripted-job.controller.js';
import type { Sample } from '../figures.js';
import { JobLedger } from '../ledger.js';
import {
  updateAtRate,
  watchedDelays,
  type ProgressCalls,
} from '../progress-calls.js';
import { percentile, waitUntil } from '../stats.js';

export interface CrossInstanceRun {
  scenario: 'crossInstance';
  durationMs: number;
}

// A call not seen on the other instance within this counts as seen this late.
const GIVE_UP_MS = 2000;

/**
 * Two instances of one app in this process, on one PostgreSQL table and one
 * Redis: the job runs on `a` (its in-process monitor) and calls update()
 * 1,000 times a second; `b` watches it with watch(). For each call, how long
 * until `b` delivered that value or a later one. One process, so one clock:
 * the same figure across machines would add their clock skew.
 */
export async function crossInstanceScenario(
  run: CrossInstanceRun,
): Promise<Sample[]> {
  const store = await prepareStore('postgres+redis');
  const ledger = new JobLedger();
  const script = new JobScript();
  const go = new Gate();
  const release = new Gate();
  let calls: ProgressCalls | undefined;
  script.run = async (_seq, backjob) => {
    await go.passed;
    calls = await updateAtRate(backjob, 1000, run.durationMs);
    await release.passed;
  };
  const apps: BenchApp[] = [];
  try {
    for (let i = 0; i < 2; i++)
      apps.push(
        await createBenchApp({
          store,
          platform: 'express',
          ...scriptedJobApp(ledger, script),
          dataSourceName: `instance${i}`,
        }),
      );
    const [a, b] = apps.map((app) => app.backjob);
    const done = ledger.whenDone(0);
    const id = await a.start(scriptedRoute(0, performance.now()));
    await waitUntil(
      () => ledger.distinctRuns === 1,
      () => 'the job never started',
    );
    const delays = await watchedDelays(
      b.watch(id),
      () => go.open(),
      () => calls,
      GIVE_UP_MS,
    );
    release.open();
    await done;
    ledger.assertExactlyOnce(1, 'cross-instance');
    return [{ figure: 'crossInstanceP99', value: percentile(delays, 99) }];
  } finally {
    go.open();
    release.open();
    for (const app of apps) await app.app.close();
    await store.remove();
  }
}
