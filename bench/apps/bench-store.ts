import type { DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BackJobModuleExtras, BackJobModuleOptions } from 'nestjs-backjob';
import { deleteRedisKeys, withPostgres } from '../cleanup.js';
import { childNames, serviceUrl } from '../resources.js';

/** Where BackJob keeps its jobs in a bench run. */
export type StoreKind = 'sqlite' | 'postgres' | 'postgres+redis';

/**
 * One store of the child's own — a SQLite file in a new temporary
 * directory, or a PostgreSQL table (and Redis keys) named after the child —
 * configured as the README tells users to: SQLite in WAL mode with
 * `synchronous = NORMAL`; Redis through @nestjs/cache-manager and
 * @keyv/redis. Apps built on the same store share its jobs (two instances).
 */
export interface BenchStore {
  kind: StoreKind;
  /**
   * The modules an app on this store imports; new ones for each app. Two
   * apps in one process name their data sources apart (TypeORM keeps one
   * registry of names per process).
   */
  imports(dataSourceName?: string): DynamicModule[];
  /** What BackJobModule.forRoot() gets for this store. */
  backjob: BackJobModuleOptions & BackJobModuleExtras;
  /** SQL name of the job table. */
  table: string;
  /** Removes the file, table and keys; call after every app on it closed. */
  remove(): Promise<void>;
}

export interface StoreOptions {
  /** SQLite only: called with the SQL of every statement the app's connection runs. */
  onSqliteStatement?: (sql: string) => void;
}

export async function prepareStore(
  kind: StoreKind,
  options: StoreOptions = {},
): Promise<BenchStore> {
  const names = childNames();
  const table = names.sql;
  const dir = kind === 'sqlite' ? names.makeTempDir() : undefined;
  const withRedis = kind === 'postgres+redis';
  // Loaded only where used: a child on SQLite does not pay for them.
  const cache = withRedis
    ? {
        ...(await import('@keyv/redis')),
        ...(await import('@nestjs/cache-manager')),
      }
    : undefined;
  return {
    kind,
    table,
    backjob: {
      tableName: table,
      useCache: withRedis,
      cachePrefix: names.redis,
    },
    imports: (name) => [
      dir
        ? TypeOrmModule.forRoot({
            name,
            type: 'better-sqlite3',
            database: join(dir, 'jobs.sqlite'),
            autoLoadEntities: true,
            enableWAL: true,
            // better-sqlite3's statement hook: how the bench counts the
            // store's writes without knowing how the library makes them.
            verbose: options.onSqliteStatement,
            prepareDatabase: (db: { pragma(sql: string): unknown }) => {
              db.pragma('busy_timeout = 5000');
              db.pragma('synchronous = NORMAL');
            },
          })
        : TypeOrmModule.forRoot({
            name,
            type: 'postgres',
            url: serviceUrl('postgres'),
            autoLoadEntities: true,
          }),
      ...(cache
        ? [
            cache.CacheModule.register({
              isGlobal: true,
              stores: [cache.createKeyv(serviceUrl('redis'))],
            }),
          ]
        : []),
    ],
    async remove() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      else
        await withPostgres(serviceUrl('postgres'), (db) =>
          db.query(`DROP TABLE IF EXISTS "${table}" CASCADE`),
        );
      if (withRedis) await deleteRedisKeys(serviceUrl('redis'), names.redis);
    },
  };
}
