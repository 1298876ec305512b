import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Everything a bench run creates outside this process — tables, schemas,
// Redis keys, temporary directories — is named after the run's tag and the
// child's number, so that each child's things are its own, two runs on one
// machine (or a test suite beside them) never meet, and the parent can sweep
// whatever a crashed child left (see cleanup.ts).

/** Environment variables the parent sets for each child. */
export const TAG_ENV = 'BACKJOB_BENCH_TAG';
export const CHILD_ENV = 'BACKJOB_BENCH_CHILD';
/** The services the parent found (as the tests find them), handed down as is. */
export const SERVICE_ENV = {
  postgres: 'BACKJOB_BENCH_POSTGRES_URL',
  redis: 'BACKJOB_BENCH_REDIS_URL',
} as const;

/** In a child: the URL of a service the parent found. */
export function serviceUrl(service: keyof typeof SERVICE_ENV): string {
  const url = process.env[SERVICE_ENV[service]];
  if (!url)
    throw new Error(
      `${SERVICE_ENV[service]} is not set: run the bench through \`npm run bench\`.`,
    );
  return url;
}

/** Where every name of the run starts: `bjbench_<tag>` (tables, schemas), `bjbench:<tag>:` (Redis), `bjbench-<tag>-` (files). */
export function runPrefixes(tag: string) {
  return {
    sql: `bjbench_${tag}_`,
    redis: `bjbench:${tag}:`,
    file: `bjbench-${tag}-`,
  };
}

/** The names of this child's own things. */
export function childNames() {
  const tag = process.env[TAG_ENV];
  const child = process.env[CHILD_ENV];
  if (!tag || !child)
    throw new Error(
      `A bench child needs ${TAG_ENV} and ${CHILD_ENV}: run it through \`npm run bench\`.`,
    );
  const prefixes = runPrefixes(tag);
  return {
    /** A PostgreSQL table or schema, or a BullMQ/pg-boss queue. */
    sql: `${prefixes.sql}${child}`,
    /** A Redis key prefix, ending with ':'. */
    redis: `${prefixes.redis}${child}:`,
    /** A new empty temporary directory. */
    makeTempDir: () => mkdtempSync(join(tmpdir(), prefixes.file)),
  };
}
