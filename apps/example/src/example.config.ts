import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';

/**
 * Everything the example reads from the environment, in one place. With
 * nothing set it runs on a SQLite file under ./data.
 *
 * - PORT (3000), HOST (127.0.0.1)
 * - PLATFORM: express (default) | fastify, the HTTP platform Nest runs on
 * - DB_TYPE: sqlite (default) | postgres | mysql | mariadb
 * - DATABASE_URL: for postgres/mysql/mariadb, e.g. postgres://root@127.0.0.1:5432/test
 * - SQLITE_FILE (data/example.sqlite)
 * - REDIS_URL: puts Redis in front of the database (BackJob's useCache),
 *   e.g. redis://127.0.0.1:6379; every instance must use the same one
 * - BACKJOB_KEY: the signing key every instance shares
 * - BACKJOB_BASE_URL: where internal requests go (a load balancer, another instance)
 * - BACKJOB_ERROR_TIMEOUT: seconds without an update before a job fails
 *   (BackJob's errorTimeout; its default when unset)
 * - BACKJOB_SWEEP_INTERVAL: seconds between two sweeps for timed-out jobs,
 *   e.g. of an instance that died (BackJob's sweepInterval; its default)
 * - BACKJOB_TABLE, BACKJOB_CACHE_PREFIX: the job table and the prefix of
 *   the cache keys (BackJob's tableName and cachePrefix; their defaults)
 * - EXAMPLE_STEP_MS: pause between the steps of the long job (1000)
 */
// Before exampleConfig, which reads it as the module loads.
const PLATFORMS = ['express', 'fastify'] as const;

export const exampleConfig = {
  port: Number(process.env.PORT ?? 3000),
  host: process.env.HOST ?? '127.0.0.1',
  platform: platformOf(process.env.PLATFORM),
  dbType: (process.env.DB_TYPE ?? 'sqlite') as
    'sqlite' | 'postgres' | 'mysql' | 'mariadb',
  databaseUrl: process.env.DATABASE_URL,
  sqliteFile: resolve(process.env.SQLITE_FILE ?? 'data/example.sqlite'),
  redisUrl: process.env.REDIS_URL,
  backjobKey: process.env.BACKJOB_KEY,
  backjobBaseUrl: process.env.BACKJOB_BASE_URL,
  errorTimeout: optionalNumber(process.env.BACKJOB_ERROR_TIMEOUT),
  sweepInterval: optionalNumber(process.env.BACKJOB_SWEEP_INTERVAL),
  tableName: process.env.BACKJOB_TABLE || undefined,
  cachePrefix: process.env.BACKJOB_CACHE_PREFIX || undefined,
  stepMs: Number(process.env.EXAMPLE_STEP_MS ?? 1000),
};

/** Express unless PLATFORM names Fastify; any other name stops the app at start, saying which ones work. */
function platformOf(value: string | undefined): (typeof PLATFORMS)[number] {
  const name = (value || 'express').toLowerCase();
  if ((PLATFORMS as readonly string[]).includes(name))
    return name as (typeof PLATFORMS)[number];
  throw new Error(
    `PLATFORM is "${value}", which the example cannot run on. Set PLATFORM=express or PLATFORM=fastify, or leave it unset for Express.`,
  );
}

/** Unset stays unset, so that BackJob applies its own default. */
function optionalNumber(value: string | undefined): number | undefined {
  return value ? Number(value) : undefined;
}

/** TypeORM options for the configured database. */
export function databaseOptions(config = exampleConfig): TypeOrmModuleOptions {
  if (config.dbType === 'sqlite') {
    mkdirSync(dirname(config.sqliteFile), { recursive: true });
    return {
      type: 'better-sqlite3',
      database: config.sqliteFile,
      autoLoadEntities: true,
      // WAL and a busy timeout: the rollback journal costs ~1 ms per write and
      // readers would block the writer.
      enableWAL: true,
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('busy_timeout = 5000');
        db.pragma('synchronous = NORMAL');
      },
    };
  }
  if (!config.databaseUrl) {
    throw new Error(
      `DB_TYPE is ${config.dbType} but DATABASE_URL is not set. Set it, e.g. DATABASE_URL=postgres://root@127.0.0.1:5432/test.`,
    );
  }
  return {
    type: config.dbType,
    url: config.databaseUrl,
    autoLoadEntities: true,
  };
}
