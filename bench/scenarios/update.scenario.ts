import { performance } from 'node:perf_hooks';
import { createBenchApp } from '../apps/bench-app.js';
import { prepareStore } from '../apps/bench-store.js';
import { Gate } from '../apps/gate.js';
import { storedProgress } from '../apps/job-rows.js';
import {
  JobScript,
  scriptedJobApp,
  scriptedRoute,
} from '../apps/scripted-job.controller.js';
import type { Sample } from '../figures.js';
import { JobLedger } from '../ledger.js';
import {
  callOf,
  clockReadsAtRate,
  updateAtRate,
  type ProgressCalls,
} from '../progress-calls.js';
import { holdsWithin, percentile, waitUntil } from '../stats.js';

export interface UpdateRun {
  scenario: 'update';
  durationMs: number;
}

// How long after its last update() call the last value may take to be stored.
const LAST_VALUE_WITHIN_MS = 1000;

/**
 * update() at 1,000 calls a second from one job on SQLite: how long the
 * call takes (it must never wait for the store), how many writes reach the
 * store for it (counted by SQLite's statement hook: UPDATEs of the job table
 * while the calls run), and whether the last value is stored while the job
 * is still running. Around them, the same calls reading only the clock,
 * timed the same way: what the machine alone puts under the call's p99.
 */
export async function updateScenario(run: UpdateRun): Promise<Sample[]> {
  const writes: number[] = [];
  const store = await prepareStore('sqlite', {
    onSqliteStatement: (sql) => {
      if (/^\s*UPDATE\b/i.test(sql) && sql.includes(store.table))
        writes.push(performance.now());
    },
  });
  const ledger = new JobLedger();
  const script = new JobScript();
  const release = new Gate();
  let calls: ProgressCalls | undefined;
  const floor: number[] = [];
  script.run = async (_seq, backjob) => {
    // Half before and half after: the machine's noise drifts within a run.
    const floorHalf = async () =>
      floor.push(
        ...(await clockReadsAtRate(1000, run.durationMs / 2)).durations,
      );
    await floorHalf();
    calls = await updateAtRate(backjob, 1000, run.durationMs);
    await release.passed;
    await floorHalf();
  };
  try {
    const { app, backjob, dataSource } = await createBenchApp({
      store,
      platform: 'express',
      ...scriptedJobApp(ledger, script),
    });
    try {
      const done = ledger.whenDone(0);
      const id = await backjob.start(scriptedRoute(0, performance.now()));
      await waitUntil(
        () => calls !== undefined,
        () => 'the job never finished its update() calls',
      );
      const { calledAt, durations } = calls!;
      const first = calledAt[0];
      const last = calledAt[calledAt.length - 1];
      const lastCall = calledAt.length - 1;
      const lastStored = await holdsWithin(async () => {
        const row = await storedProgress(dataSource, store.table, id);
        return callOf(row?.statusText) === lastCall;
      }, LAST_VALUE_WITHIN_MS);
      const during = writes.filter((at) => at >= first && at <= last);
      release.open();
      await done;
      ledger.assertExactlyOnce(1, 'update()');
      return [
        { figure: 'updateCallP99', value: percentile(durations, 99) * 1000 },
        {
          figure: 'clockReadP99',
          value: percentile(floor, 99) * 1000,
        },
        {
          figure: 'updateWrites',
          value: writesPerSecond(during, last - first),
        },
        { figure: 'updateLastStored', value: lastStored ? 1 : 0 },
      ];
    } finally {
      release.open();
      await app.close();
    }
  } finally {
    await store.remove();
  }
}

/**
 * How many writes a second `times` (in ms, in order, within `windowMs`)
 * make: one per interval between two of them. Counting them over the
 * window instead would count a fence post: 31 writes 100 ms apart fit in 3 s.
 */
function writesPerSecond(times: readonly number[], windowMs: number): number {
  if (times.length < 2) return (times.length / windowMs) * 1000;
  return ((times.length - 1) / (times.at(-1)! - times[0])) * 1000;
}
