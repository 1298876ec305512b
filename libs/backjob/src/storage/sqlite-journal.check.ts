import type { QueryRunner } from 'typeorm';

const SQLITE_DRIVERS = new Set(['better-sqlite3', 'sqlite']);

/**
 * True unless the data source is a SQLite file in rollback-journal mode,
 * TypeORM's default: there every job write costs ~1 ms (far more under disk
 * load) and a reader blocks the writer.
 */
export async function usesSqliteWal(
  queryRunner: QueryRunner,
): Promise<boolean> {
  const { type, database } = queryRunner.connection.options as {
    type: string;
    database?: unknown;
  };
  if (!SQLITE_DRIVERS.has(type) || database === ':memory:') return true;
  const [row] = (await queryRunner.query('PRAGMA journal_mode')) as {
    journal_mode?: string;
  }[];
  return row?.journal_mode?.toLowerCase() === 'wal';
}
