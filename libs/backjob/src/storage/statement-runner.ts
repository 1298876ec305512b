import { QueryFailedError, type DataSource, type ObjectLiteral } from 'typeorm';
import * as messages from '../backjob.messages.js';

/** What a statement did: its rows, or how many rows it changed. */
export interface StatementResult {
  records: ObjectLiteral[];
  affected: number;
}

/** A statement of the job table and its values. */
export type Statement = readonly [sql: string, values: unknown[]];

/** Runs statements of the job table. */
export interface StatementRunner {
  /** Runs one statement with its values. */
  run(sql: string, values: unknown[]): Promise<StatementResult>;
  /**
   * Runs writes in one transaction: all of them, or none, and one commit.
   * A commit writes every page its statements dirtied; rows with random
   * keys (merge keys; job ids before 0.2.0) dirty the same index pages
   * again in each statement, so on SQLite 3,000 such rows cost 14-18 µs
   * each in statements of 200 committed apart, and 7 µs in one
   * transaction (measured in a bare script, WAL mode).
   */
  runTogether(statements: readonly Statement[]): Promise<void>;
}

/**
 * How the data source runs BackJob's statements: through TypeORM's query
 * runner, or on better-sqlite3 as statements prepared once (see
 * `preparedSqliteRunner`).
 */
export function statementRunnerFor(dataSource: DataSource): StatementRunner {
  return runsInProcess(dataSource)
    ? preparedSqliteRunner(dataSource)
    : queryRunnerOf(dataSource);
}

/**
 * Whether the data source's statements run in this process and block it
 * until they end (better-sqlite3): no timer can bound one, and none waits
 * on a network.
 */
export function runsInProcess(dataSource: DataSource): boolean {
  return dataSource.options.type === 'better-sqlite3';
}

function queryRunnerOf(dataSource: DataSource): StatementRunner {
  const run: StatementRunner['run'] = async (sql, values) => {
    const queryRunner = dataSource.createQueryRunner();
    try {
      const result = await queryRunner.query(sql, values, true);
      return {
        records: Array.isArray(result.records) ? result.records : [],
        affected: result.affected ?? 0,
      };
    } finally {
      await queryRunner.release();
    }
  };
  return {
    run,
    async runTogether(statements) {
      // One statement is its own transaction.
      if (statements.length === 1) return void (await run(...statements[0]));
      const queryRunner = dataSource.createQueryRunner();
      try {
        await queryRunner.startTransaction();
        for (const [sql, values] of statements)
          await queryRunner.query(sql, values);
        await queryRunner.commitTransaction();
      } catch (error) {
        if (queryRunner.isTransactionActive)
          await queryRunner.rollbackTransaction().catch(() => undefined);
        throw error;
      } finally {
        await queryRunner.release();
      }
    },
  };
}

/** The part of a better-sqlite3 connection that runs statements. */
interface SqliteConnection {
  readonly open: boolean;
  prepare(sql: string): SqliteStatement;
  /** Wraps `fn` in a transaction, or in a savepoint inside one already open. */
  transaction(fn: () => void): () => void;
}

interface SqliteStatement {
  /** Whether it returns rows (a SELECT, or RETURNING). */
  readonly reader: boolean;
  all(...values: unknown[]): ObjectLiteral[];
  run(...values: unknown[]): { changes: number };
}

// Each text is a statement of the job table; grouped writes make one per
// group size, so a few hundred at most.
const PREPARED_STATEMENTS = 500;

/**
 * On the data source's own better-sqlite3 connection, each statement
 * prepared once. TypeORM's query runner looks the prepared statement up too,
 * but around it sends events to subscribers and times the query: 8-10 µs of
 * a lone job's insert or claim, measured (`npm run bench:probe`). Queries are
 * still logged by the data source's logger, and a failed one still rejects
 * with TypeORM's `QueryFailedError`, the driver's error as its cause.
 */
function preparedSqliteRunner(dataSource: DataSource): StatementRunner {
  const prepared = new Map<string, SqliteStatement>();
  let preparedOn: SqliteConnection | undefined;
  const connectionOf = (): SqliteConnection => {
    const connection = (
      dataSource.driver as { databaseConnection?: SqliteConnection }
    ).databaseConnection;
    if (!connection?.open)
      throw new Error(messages.dataSourceNotConnectedMessage());
    // A data source destroyed and initialized again has a new connection.
    if (connection !== preparedOn) {
      prepared.clear();
      preparedOn = connection;
    }
    return connection;
  };
  const statementOf = (sql: string): SqliteStatement => {
    const connection = connectionOf();
    let statement = prepared.get(sql);
    if (!statement) {
      statement = connection.prepare(sql);
      if (prepared.size >= PREPARED_STATEMENTS)
        prepared.delete(prepared.keys().next().value!);
      prepared.set(sql, statement);
    }
    return statement;
  };
  const runOne = (sql: string, values: unknown[]): StatementResult => {
    dataSource.logger.logQuery(sql, values);
    try {
      const statement = statementOf(sql);
      if (statement.reader)
        return { records: statement.all(...values), affected: 0 };
      return { records: [], affected: statement.run(...values).changes };
    } catch (error) {
      dataSource.logger.logQueryError(error as Error, sql, values);
      throw new QueryFailedError(sql, values, error as Error);
    }
  };
  return {
    run: async (sql, values) => runOne(sql, values),
    // Nothing else runs on the connection until it returns: the statements
    // are the transaction's alone.
    runTogether: async (statements) => {
      if (statements.length === 1) return void runOne(...statements[0]);
      connectionOf().transaction(() => {
        for (const [sql, values] of statements) runOne(sql, values);
      })();
    },
  };
}
