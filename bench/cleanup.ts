import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { runPrefixes } from './resources.js';

/** The Redis keys under `prefix` are deleted; resolves with how many there were. */
export async function deleteRedisKeys(
  url: string,
  prefix: string,
): Promise<number> {
  const { createClient } = await import('@keyv/redis');
  const client = createClient({
    url,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  await client.connect();
  let deleted = 0;
  try {
    for await (const keys of client.scanIterator({
      MATCH: `${prefix}*`,
      COUNT: 1000,
    })) {
      if (keys.length > 0) deleted += await client.del(keys);
    }
  } finally {
    await client.close();
  }
  return deleted;
}

/** Runs `use` on a connection of its own to PostgreSQL. */
export async function withPostgres<T>(
  url: string,
  use: (db: DataSource) => Promise<T>,
): Promise<T> {
  const db = await new DataSource({
    type: 'postgres',
    url,
    poolSize: 1,
  }).initialize();
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}

/**
 * The parent's last step: removes whatever the run's children left behind
 * (each removes its own; this catches a child that crashed or was killed)
 * and says what it found, so that a child that leaks is noticed.
 */
export async function sweepRun(
  tag: string,
  services: { postgres?: string; redis?: string },
): Promise<string[]> {
  const prefixes = runPrefixes(tag);
  const found: string[] = [];
  for (const entry of readdirSync(tmpdir()))
    if (entry.startsWith(prefixes.file)) {
      rmSync(join(tmpdir(), entry), { recursive: true, force: true });
      found.push(`directory ${entry}`);
    }
  if (services.postgres)
    await withPostgres(services.postgres, async (client) => {
      // `_` is a LIKE wildcard: escape it, or bjbench_ab would match bjbenchXab.
      const like = `${prefixes.sql.replaceAll('_', '\\_')}%`;
      const schemas: { name: string }[] = await client.query(
        'SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1',
        [like],
      );
      for (const { name } of schemas) {
        await client.query(`DROP SCHEMA "${name}" CASCADE`);
        found.push(`schema ${name}`);
      }
      const tables: { name: string }[] = await client.query(
        'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE $1',
        [like],
      );
      for (const { name } of tables) {
        await client.query(`DROP TABLE "${name}" CASCADE`);
        found.push(`table ${name}`);
      }
    });
  if (services.redis) {
    const keys = await deleteRedisKeys(services.redis, prefixes.redis);
    if (keys > 0) found.push(`${keys} Redis keys`);
  }
  return found;
}
