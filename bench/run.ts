// `npm run bench`: BackJob side by side with BullMQ and pg-boss, in one
// process, one after the other, on this machine's services: the same no-op
// job with four progress updates, first one job at a time (pickup latency),
// then many in flight (throughput). Timings on a shared machine are noisy:
// compare the ratios within one run.
//
//   BENCH_JOBS (1000)  BENCH_CONCURRENCY ("1,50")
//   BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test)
//   BENCH_REDIS_URL (redis://127.0.0.1:6379)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackJob } from './backjob.scenario.js';
import { runBullMq } from './bullmq.scenario.js';
import { runPgBoss } from './pgboss.scenario.js';
import { formatTable, type ScenarioResult } from './stats.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const CONCURRENCY_LEVELS = (process.env.BENCH_CONCURRENCY ?? '1,50')
  .split(',')
  .map(Number);
const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const sqliteFile = join(
  mkdtempSync(join(tmpdir(), 'backjob-bench-')),
  'bench.sqlite',
);
const scenarios: [string, (concurrency: number) => Promise<ScenarioResult>][] =
  [
    [
      'BackJob (SQLite, WAL)',
      (concurrency) =>
        runBackJob(
          'BackJob (SQLite, WAL)',
          {
            type: 'better-sqlite3',
            database: sqliteFile,
            autoLoadEntities: true,
            enableWAL: true,
            prepareDatabase: (db: { pragma(sql: string): unknown }) => {
              db.pragma('busy_timeout = 5000');
              db.pragma('synchronous = NORMAL');
            },
          },
          JOBS,
          concurrency,
        ),
    ],
    [
      'BackJob (PostgreSQL)',
      (concurrency) =>
        runBackJob(
          'BackJob (PostgreSQL)',
          { type: 'postgres', url: POSTGRES_URL, autoLoadEntities: true },
          JOBS,
          concurrency,
        ),
    ],
    [
      'BullMQ (Redis)',
      (concurrency) => runBullMq(REDIS_URL, JOBS, concurrency),
    ],
    [
      'pg-boss (PostgreSQL)',
      (concurrency) => runPgBoss(POSTGRES_URL, JOBS, concurrency),
    ],
  ];

const results: ScenarioResult[] = [];
for (const concurrency of CONCURRENCY_LEVELS) {
  for (const [name, run] of scenarios) {
    process.stderr.write(`${name}: ${JOBS} jobs, ${concurrency} in flight… `);
    try {
      const result = await run(concurrency);
      results.push(result);
      process.stderr.write(`${result.throughput.toFixed(0)} jobs/s\n`);
    } catch (error) {
      process.stderr.write(
        `skipped: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
  }
}
console.log(
  `\nNode ${process.version}, ${JOBS} no-op jobs with 4 progress updates each.\n`,
);
console.log(formatTable(results));
process.exit(0);
