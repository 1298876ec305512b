import { performance } from 'node:perf_hooks';
import { firstValueFrom } from 'rxjs';
import { createBenchApp } from '../apps/bench-app.js';
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
  updateSpaced,
  watchedDelays,
  type ProgressCalls,
} from '../progress-calls.js';
import { percentile, waitUntil } from '../stats.js';

export interface WatchRun {
  scenario: 'watch';
  /** Fresh watch() subscriptions, one at a time. */
  watches: number;
  /** update() calls, 20 ms apart: each one a change of its own. */
  changes: number;
}

const GAP_MS = 20;
const GIVE_UP_MS = 1000;

/**
 * watch() on the instance that runs the job, on SQLite: how long a new
 * subscription waits for its first snapshot (no other watcher, so each one
 * reads the job afresh), and how long each update() takes to reach a
 * watcher. The updates are spaced so that each is a change of its own.
 */
export async function watchScenario(run: WatchRun): Promise<Sample[]> {
  const store = await prepareStore('sqlite');
  const ledger = new JobLedger();
  const script = new JobScript();
  const go = new Gate();
  const release = new Gate();
  let calls: ProgressCalls | undefined;
  script.run = async (_seq, backjob) => {
    await go.passed;
    calls = await updateSpaced(backjob, run.changes, GAP_MS);
    await release.passed;
  };
  try {
    const { app, backjob } = await createBenchApp({
      store,
      platform: 'express',
      ...scriptedJobApp(ledger, script),
    });
    try {
      const done = ledger.whenDone(0);
      const id = await backjob.start(scriptedRoute(0, performance.now()));
      await waitUntil(
        () => ledger.distinctRuns === 1,
        () => 'the job never started',
      );

      const firsts: number[] = [];
      for (let i = 0; i < run.watches; i++) {
        const began = performance.now();
        await firstValueFrom(backjob.watch(id));
        firsts.push(performance.now() - began);
      }

      const delays = await watchedDelays(
        backjob.watch(id),
        () => go.open(),
        () => calls,
        GIVE_UP_MS,
      );
      release.open();
      await done;
      ledger.assertExactlyOnce(1, 'watch()');
      return [
        { figure: 'watchFirstP50', value: percentile(firsts, 50) },
        { figure: 'watchChangeP99', value: percentile(delays, 99) },
      ];
    } finally {
      go.open();
      release.open();
      await app.close();
    }
  } finally {
    await store.remove();
  }
}
