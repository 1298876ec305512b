// `npm run bench`: BackJob side by side with BullMQ and pg-boss, in one
// process, one after the other, on this machine's services. Timings on a
// shared machine are noisy: compare the ratios within one run.
import { formatTable, type ScenarioResult } from './stats.js';
import { runBackJob } from './backjob.scenario.js';
import { runBullMq } from './bullmq.scenario.js';
import { runPgBoss } from './pgboss.scenario.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const JOBS = Number(process.env.BENCH_JOBS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const sqliteFile = join(
  mkdtempSync(join(tmpdir(), 'backjob-bench-')),
  'bench.sqlite',
);
const scenarios: [string, () => Promise<ScenarioResult>][] = [
  [
    'BackJob (SQLite, WAL)',
    () =>
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
        CONCURRENCY,
      ),
  ],
  [
    'BackJob (PostgreSQL)',
    () =>
      runBackJob(
        'BackJob (PostgreSQL)',
        { type: 'postgres', url: POSTGRES_URL, autoLoadEntities: true },
        JOBS,
        CONCURRENCY,
      ),
  ],
  ['BullMQ (Redis)', () => runBullMq(REDIS_URL, JOBS, CONCURRENCY)],
  ['pg-boss (PostgreSQL)', () => runPgBoss(POSTGRES_URL, JOBS, CONCURRENCY)],
];

const results: ScenarioResult[] = [];
for (const [name, run] of scenarios) {
  process.stderr.write(`${name}: ${JOBS} jobs, ${CONCURRENCY} in flight… `);
  try {
    const result = await run();
    results.push(result);
    process.stderr.write(`${result.throughput.toFixed(0)} jobs/s\n`);
  } catch (error) {
    process.stderr.write(
      `skipped: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
}
console.log(
  `\nNode ${process.version}, ${JOBS} no-op jobs with 4 progress updates each, ${CONCURRENCY} in flight.\n`,
);
console.log(formatTable(results));
process.exit(0);
