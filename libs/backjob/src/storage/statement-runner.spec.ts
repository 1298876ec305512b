import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, QueryFailedError, type Logger } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statementRunnerFor } from './statement-runner.js';

describe('statementRunnerFor on better-sqlite3', () => {
  let folder: string;
  let dataSource: DataSource;
  const logged: string[] = [];
  const logger: Logger = {
    logQuery: (sql) => void logged.push(`query: ${sql}`),
    logQueryError: (error, sql) =>
      void logged.push(`error: ${sql}: ${String(error)}`),
    logQuerySlow: () => undefined,
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'backjob-runner-'));
    logged.length = 0;
    dataSource = new DataSource({
      type: 'better-sqlite3',
      database: join(folder, 'jobs.sqlite'),
      logger,
    });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)');
  });

  afterEach(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
    rmSync(folder, { recursive: true, force: true });
  });

  it('runs writes and reads, with what they changed and returned', async () => {
    const { run } = statementRunnerFor(dataSource);
    expect(await run('INSERT INTO t VALUES (?, ?)', ['a', 1])).toEqual({
      records: [],
      affected: 1,
    });
    expect(
      await run('UPDATE t SET n = ? WHERE id = ? RETURNING id', [2, 'a']),
    ).toEqual({ records: [{ id: 'a' }], affected: 0 });
    expect(await run('UPDATE t SET n = ? WHERE id = ?', [3, 'none'])).toEqual({
      records: [],
      affected: 0,
    });
    expect((await run('SELECT n FROM t WHERE id = ?', ['a'])).records).toEqual([
      { n: 2 },
    ]);
  });

  it("logs through the data source's logger, and rejects with TypeORM's error", async () => {
    const { run } = statementRunnerFor(dataSource);
    await run('INSERT INTO t VALUES (?, ?)', ['a', 1]);
    const failed = run('INSERT INTO t VALUES (?, ?)', ['a', 1]);
    await expect(failed).rejects.toBeInstanceOf(QueryFailedError);
    const error = (await failed.catch((e: unknown) => e)) as QueryFailedError;
    expect(error.driverError).toMatchObject({
      code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    });
    expect(logged.filter((line) => line.includes('INSERT INTO t'))).toEqual([
      'query: INSERT INTO t VALUES (?, ?)',
      'query: INSERT INTO t VALUES (?, ?)',
      expect.stringMatching(/^error: INSERT INTO t .*UNIQUE constraint/),
    ]);
  });

  it('runs writes together: all of them, or none when one fails', async () => {
    const { runTogether, run } = statementRunnerFor(dataSource);
    await runTogether([
      ['INSERT INTO t VALUES (?, ?)', ['a', 1]],
      ['INSERT INTO t VALUES (?, ?)', ['b', 2]],
    ]);
    const refused = runTogether([
      ['INSERT INTO t VALUES (?, ?)', ['c', 3]],
      ['INSERT INTO t VALUES (?, ?)', ['a', 4]],
    ]);
    await expect(refused).rejects.toBeInstanceOf(QueryFailedError);
    expect((await run('SELECT id FROM t ORDER BY id', [])).records).toEqual([
      { id: 'a' },
      { id: 'b' },
    ]);
  });

  it("runs writes together inside a transaction the app's code opened, as part of it", async () => {
    const { runTogether, run } = statementRunnerFor(dataSource);
    const queryRunner = dataSource.createQueryRunner();
    await queryRunner.startTransaction();
    await runTogether([
      ['INSERT INTO t VALUES (?, ?)', ['a', 1]],
      ['INSERT INTO t VALUES (?, ?)', ['b', 2]],
    ]);
    await queryRunner.rollbackTransaction();
    await queryRunner.release();
    expect((await run('SELECT id FROM t', [])).records).toEqual([]);
  });

  it('prepares again on the new connection of a data source initialized again', async () => {
    const { run } = statementRunnerFor(dataSource);
    await run('INSERT INTO t VALUES (?, ?)', ['a', 1]);
    await dataSource.destroy();
    await expect(run('SELECT n FROM t', [])).rejects.toThrow(
      /not connected: initialize it/,
    );
    await dataSource.initialize();
    expect((await run('SELECT n FROM t', [])).records).toEqual([{ n: 1 }]);
  });
});
