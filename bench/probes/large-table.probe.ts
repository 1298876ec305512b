// `npx tsc -b bench/tsconfig.json && node bench/dist/bench/probes/large-table.probe.js [rows] [sqlite|postgres]`
// (postgres: with BACKJOB_BENCH_POSTGRES_URL set, e.g.
// postgres://root@127.0.0.1:5432/test): a burst of 3,000 start() into a
// job table that already holds `rows` ended jobs (100,000 unless told), as
// a table does after weeks of retention. Not a figure of the bench: the
// probe behind the choice of time-ordered job ids. It prints the burst's
// start() p99 and how long the writes took per job after the callers'
// synchronous part; compare builds with the A/B of docs/benchmarks.md.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createBenchApp } from '../apps/bench-app.js';
import { prepareStore, type StoreKind } from '../apps/bench-store.js';
import {
  JobScript,
  scriptedJobApp,
  scriptedRoute,
} from '../apps/scripted-job.controller.js';
import { JobLedger } from '../ledger.js';
import { CHILD_ENV, TAG_ENV } from '../resources.js';
import { percentile } from '../stats.js';

process.env[TAG_ENV] ??= `probe${process.pid}`;
process.env[CHILD_ENV] ??= 'probe';
const rows = Number(process.argv[2] ?? 100_000);
const kind = (process.argv[3] ?? 'sqlite') as StoreKind;
const BURST = 3000;
const PREFILL_ROWS_PER_STATEMENT = 500;

const store = await prepareStore(kind);
try {
  const { app, backjob, dataSource } = await createBenchApp({
    store,
    platform: 'express',
    ...scriptedJobApp(new JobLedger(), new JobScript()),
  });
  try {
    // Ended jobs of the past, with random ids as every version has made
    // them so far. Column names as the module's table has them.
    const columns =
      'id, scope, progress, status, start_time, updated_time, end_time, request, status_text, anonymous';
    const ended = Date.now() - 86_400_000;
    for (let done = 0; done < rows; done += PREFILL_ROWS_PER_STATEMENT) {
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (
        let i = done;
        i < Math.min(rows, done + PREFILL_ROWS_PER_STATEMENT);
        i++
      ) {
        const at = values.length;
        const p = (n: number) => (kind === 'sqlite' ? '?' : `$${at + n}`);
        tuples.push(`(${[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(p).join(', ')})`);
        values.push(
          randomUUID(),
          '',
          100,
          2,
          ended,
          ended,
          ended,
          `{"method":"GET","path":"/bench/old/${i}"}`,
          'done',
          1,
        );
      }
      await dataSource.query(
        `INSERT INTO "${store.table}" (${columns}) VALUES ${tuples.join(', ')}`,
        values,
      );
    }
    const latencies: number[] = [];
    const began = performance.now();
    const burst = Promise.all(
      Array.from({ length: BURST }, async (_, seq) => {
        const called = performance.now();
        await backjob.start(scriptedRoute(seq, called));
        latencies.push(performance.now() - called);
      }),
    );
    const syncMs = performance.now() - began;
    await burst;
    const writesMs = performance.now() - began - syncMs;
    console.log(
      JSON.stringify({
        kind,
        rows,
        syncMs: Math.round(syncMs),
        writesPerJobUs: Math.round((writesMs / BURST) * 1000),
        p99Ms: Math.round(percentile(latencies, 99)),
      }),
    );
  } finally {
    await app.close();
  }
} finally {
  await store.remove();
}
