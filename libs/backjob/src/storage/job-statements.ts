import type { DataSource, ObjectLiteral } from 'typeorm';
import {
  runsInProcess,
  statementRunnerFor,
  type StatementRunner,
} from './statement-runner.js';
import {
  CLAIMABLE_STATUSES,
  ENDABLE_STATUSES,
  JobStatus,
  PENDING_STATUSES,
  PROGRESS_STATUSES,
  SIGN_OF_LIFE_FIELDS,
  WAITING_STATUSES,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import type {
  JobListQuery,
  JobProgressChange,
  JobRecord,
} from './job-store.js';
import {
  columnType,
  JOB_COLUMNS,
  jobColumn,
  recordOfRow,
  toColumnValue,
} from './job-table.schema.js';

// What an ending writes: each column, the ending's value it takes, and
// whether a missing value keeps the job's own (an ending without progress
// or a result keeps what the job had).
const ENDING_SET: readonly {
  column: keyof JobRecord;
  value: (write: JobEndWrite) => unknown;
  keepsOwn?: boolean;
}[] = [
  { column: 'status', value: (write) => write.ending.status },
  { column: 'statusText', value: (write) => write.ending.statusText },
  {
    column: 'progress',
    value: (write) => write.ending.progress ?? null,
    keepsOwn: true,
  },
  {
    column: 'result',
    value: (write) => write.ending.result ?? null,
    keepsOwn: true,
  },
  { column: 'endTime', value: (write) => write.now },
  { column: 'updatedTime', value: (write) => write.now },
];

/** One job's ending as the store writes it. */
export interface JobEndWrite {
  id: string;
  ending: JobEnding;
  now: number;
}

/** One job's claim as the store writes it. */
export interface JobClaimWrite {
  id: string;
  now: number;
}

/**
 * The statements of the job table, written once for the data source's driver
 * and table, with their status lists taken from the lifecycle rules. Query
 * builders cost more than the queries themselves on SQLite; fixed texts also
 * stay in the driver's prepared-statement cache.
 */
export class JobStatements {
  readonly insert: string;
  readonly find: string;
  readonly findByMergeKey: string;
  readonly claim: string;
  readonly end: string;
  readonly takeOver: string;
  readonly findStale: string;
  readonly countsAll: string;
  readonly countsInScope: string;
  /**
   * How claims and ends that arrive together are written by one statement
   * (`claimMany`, `endMany`): undefined on MySQL and MariaDB, whose UPDATE
   * cannot say which rows it changed. On PostgreSQL, those that arrive
   * while one is under way (each statement is a round trip, and a commit
   * that waits for its WAL flush). SQLite's statements run in the process
   * and end before another write can arrive: there, those that arrive
   * within one turn of the event loop (one commit instead of one per job).
   */
  readonly updateGrouping: { gatherTurn: boolean } | undefined;
  /** See `runsInProcess()`. */
  readonly runInProcess: boolean;
  /** Runs one of these statements with its values. */
  readonly run: StatementRunner['run'];
  /** Runs some of these writes in one transaction. */
  readonly runTogether: StatementRunner['runTogether'];
  private readonly groupDialect: 'unnest' | 'values' | undefined;
  private readonly deleteTakesLimit: boolean;
  private readonly groupStatements = new Map<string, string>();
  private readonly columns: string;
  private readonly progressStatements = new Map<string, string>();
  private readonly insertStatements = new Map<number, string>();
  private readonly table: string;
  private readonly escape: (name: string) => string;
  /** A column's name in the table, escaped for the driver. */
  private readonly column = (property: keyof JobRecord): string =>
    this.escape(jobColumn(property).name);
  private readonly placeholder: (index: number) => string;
  /** `start_time < ? AND updated_time < ?`: no sign of life since the cutoff. */
  private readonly silentSince: (first: number) => string;

  constructor(dataSource: DataSource, tableName: string) {
    const escape = (name: string) => dataSource.driver.escape(name);
    this.escape = escape;
    this.table = escape(tableName);
    this.placeholder =
      dataSource.options.type === 'postgres' ? (i) => `$${i}` : () => '?';
    const p = this.placeholder;
    this.silentSince = (first) =>
      SIGN_OF_LIFE_FIELDS.map(
        (field, i) => `${this.column(field)} < ${p(first + i)}`,
      ).join(' AND ');
    const columns = JOB_COLUMNS.map(({ name }) => escape(name));
    this.columns = columns.join(', ');
    const [id, status, updated] = [
      this.column('id'),
      this.column('status'),
      this.column('updatedTime'),
    ];
    this.insert = `INSERT INTO ${this.table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => p(i + 1)).join(', ')})`;
    this.find = `SELECT ${columns.join(', ')} FROM ${this.table} WHERE ${id} = ${p(1)}`;
    this.findByMergeKey = `SELECT ${id} FROM ${this.table} WHERE ${this.column('mergeKey')} = ${p(1)}`;
    this.claim = `UPDATE ${this.table} SET ${status} = ${JobStatus.InProgress}, ${updated} = ${p(1)} WHERE ${id} = ${p(2)} AND ${status} IN (${CLAIMABLE_STATUSES})`;
    this.end = `UPDATE ${this.table} SET ${this.endingSet((_, i) => p(i + 1), this.column)} WHERE ${id} = ${p(ENDING_SET.length + 1)} AND ${status} IN (${ENDABLE_STATUSES})`;
    this.groupDialect = groupDialectOf(dataSource.options.type);
    this.deleteTakesLimit = ['mysql', 'mariadb'].includes(
      dataSource.options.type,
    );
    this.runInProcess = runsInProcess(dataSource);
    // Neither function uses `this`: taken as they are, no call in between.
    ({ run: this.run, runTogether: this.runTogether } =
      statementRunnerFor(dataSource));
    this.updateGrouping =
      this.groupDialect === undefined
        ? undefined
        : { gatherTurn: this.runInProcess };
    this.countsAll = `SELECT ${status} AS status, COUNT(*) AS total FROM ${this.table} GROUP BY ${status}`;
    this.countsInScope = `SELECT ${status} AS status, COUNT(*) AS total FROM ${this.table} WHERE ${this.column('scope')} = ${p(1)} GROUP BY ${status}`;
    this.takeOver = `UPDATE ${this.table} SET ${updated} = ${p(1)} WHERE ${id} = ${p(2)} AND ${status} IN (${WAITING_STATUSES}) AND ${this.silentSince(3)}`;
    this.findStale = `SELECT ${id} FROM ${this.table} WHERE ${status} IN (${PENDING_STATUSES}) AND ${this.silentSince(1)} LIMIT ${p(SIGN_OF_LIFE_FIELDS.length + 1)}`;
  }

  /** One INSERT of all of `jobs`, and its values. */
  insertMany(jobs: readonly JobRecord[]): [string, unknown[]] {
    let sql = this.insertStatements.get(jobs.length);
    if (!sql) {
      const width = JOB_COLUMNS.length;
      const rows = jobs.map(
        (_, row) =>
          `(${JOB_COLUMNS.map((_, i) => this.placeholder(row * width + i + 1)).join(', ')})`,
      );
      sql = `INSERT INTO ${this.table} (${this.columns}) VALUES ${rows.join(', ')}`;
      this.insertStatements.set(jobs.length, sql);
    }
    return [sql, jobs.flatMap((job) => this.insertValues(job))];
  }

  insertValues(job: JobRecord): unknown[] {
    return JOB_COLUMNS.map((column) =>
      toColumnValue(column, job[column.property]),
    );
  }

  endValues(write: JobEndWrite): unknown[] {
    return [...ENDING_SET.map((entry) => entry.value(write)), write.id];
  }

  /**
   * One UPDATE of many jobs' claims (see `updateGrouping`), and its values;
   * it returns the ids of the jobs it claimed.
   */
  claimMany(claims: readonly JobClaimWrite[]): [string, unknown[]] {
    const status = this.column('status');
    const updated = this.column('updatedTime');
    return this.groupUpdate(
      'claim',
      ['id', 'updatedTime'],
      (v) =>
        `${status} = ${JobStatus.InProgress}, ${updated} = ${v('updatedTime')}`,
      CLAIMABLE_STATUSES,
      claims.map((claim) => [claim.id, claim.now]),
    );
  }

  /**
   * One UPDATE of many jobs' endings (see `updateGrouping`), and its
   * values; it returns the ids of the jobs it ended.
   */
  endMany(ends: readonly JobEndWrite[]): [string, unknown[]] {
    return this.groupUpdate(
      'end',
      ['id', ...ENDING_SET.map((entry) => entry.column)],
      (v) =>
        this.endingSet(
          (entry) => v(entry.column),
          (property) => `${this.table}.${this.column(property)}`,
        ),
      ENDABLE_STATUSES,
      ends.map((end) => [
        end.id,
        ...ENDING_SET.map((entry) => entry.value(end)),
      ]),
    );
  }

  /**
   * The assignments of an ending, from where each of its values comes, and
   * how the job's own value is named. The merge key is freed: an identical
   * request starts a new job.
   */
  private endingSet(
    value: (entry: (typeof ENDING_SET)[number], index: number) => string,
    own: (property: keyof JobRecord) => string,
  ): string {
    const assignments = ENDING_SET.map((entry, i) => {
      const taken = value(entry, i);
      return `${this.column(entry.column)} = ${entry.keepsOwn ? `COALESCE(${taken}, ${own(entry.column)})` : taken}`;
    });
    assignments.push(`${this.column('mergeKey')} = NULL`);
    return assignments.join(', ');
  }

  /**
   * An UPDATE of the jobs of `rows` (one value per property each, the id
   * first) from `statuses` only, that returns the ids it changed; `set`
   * names each property's new value through `v`. PostgreSQL reads the rows
   * from one array per column (`unnest()`: one text whatever the group's
   * size), SQLite from a VALUES list.
   */
  private groupUpdate(
    kind: 'claim' | 'end',
    properties: (keyof JobRecord)[],
    set: (v: (property: keyof JobRecord) => string) => string,
    statuses: readonly JobStatus[],
    rows: unknown[][],
  ): [string, unknown[]] {
    const unnest = this.groupDialect === 'unnest';
    const key = unnest ? kind : `${kind}:${rows.length}`;
    let sql = this.groupStatements.get(key);
    if (!sql) {
      const p = this.placeholder;
      const names = properties.map(this.column);
      const v = (property: keyof JobRecord) => {
        const i = properties.indexOf(property);
        return unnest ? `v.${names[i]}` : `v.column${i + 1}`;
      };
      const source = unnest
        ? `unnest(${properties.map((property, i) => `${p(i + 1)}::${columnType(jobColumn(property), 'postgres')}[]`).join(', ')}) AS v(${names.join(', ')})`
        : `(VALUES ${rows.map((_, row) => `(${properties.map((_, i) => p(row * properties.length + i + 1)).join(', ')})`).join(', ')}) AS v`;
      const id = `${this.table}.${names[0]}`;
      const status = `${this.table}.${this.column('status')}`;
      sql =
        `UPDATE ${this.table} SET ${set(v)} FROM ${source} ` +
        `WHERE ${id} = ${v('id')} AND ${status} IN (${statuses}) RETURNING ${id} AS id`;
      this.groupStatements.set(key, sql);
    }
    const values = unnest
      ? properties.map((_, i) => rows.map((row) => row[i]))
      : rows.flat();
    return [sql, values];
  }

  /** The SELECT of a page of `list()`, newest first, and its values. */
  list(query: JobListQuery): [string, unknown[]] {
    const p = this.placeholder;
    const [scope, start, id] = (['scope', 'startTime', 'id'] as const).map(
      this.column,
    );
    const where: string[] = [];
    const values: unknown[] = [];
    const next = (value: unknown) => {
      values.push(value);
      return p(values.length);
    };
    if (query.scope !== undefined)
      where.push(`${scope} = ${next(query.scope)}`);
    if (query.statuses !== undefined)
      // Typed statuses from the caller's validated query; Number() keeps anything else out.
      where.push(
        `${this.column('status')} IN (${query.statuses.map(Number).join(', ')})`,
      );
    if (query.after !== undefined)
      where.push(
        `(${start} < ${next(query.after.startTime)} OR (${start} = ${next(query.after.startTime)} AND ${id} < ${next(query.after.id)}))`,
      );
    const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    return [
      `SELECT ${this.columns} FROM ${this.table}${filter} ORDER BY ${start} DESC, ${id} DESC LIMIT ${next(query.limit)}`,
      values,
    ];
  }

  takeOverValues(id: string, cutoff: number, now: number): unknown[] {
    return [now, id, ...SIGN_OF_LIFE_FIELDS.map(() => cutoff)];
  }

  findStaleValues(cutoff: number, limit: number): unknown[] {
    return [...SIGN_OF_LIFE_FIELDS.map(() => cutoff), limit];
  }

  /** The UPDATE of a pending job's progress and/or text, and its values. */
  progress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): [string, unknown[]] {
    const set = (['progress', 'statusText'] as const)
      .filter((property) => change[property] !== undefined)
      .map((property) => [property, change[property]] as const);
    const key = set.map(([property]) => property).join(',');
    let sql = this.progressStatements.get(key);
    if (!sql) {
      const p = this.placeholder;
      const assignments = set.map(
        ([property], i) => `${this.column(property)} = ${p(i + 1)}`,
      );
      assignments.push(`${this.column('updatedTime')} = ${p(set.length + 1)}`);
      sql = `UPDATE ${this.table} SET ${assignments.join(', ')} WHERE ${this.column('id')} = ${p(set.length + 2)} AND ${this.column('status')} IN (${PROGRESS_STATUSES})`;
      this.progressStatements.set(key, sql);
    }
    return [sql, [...set.map(([, value]) => value), now, id]];
  }

  /** The UPDATE of the heartbeat of those of `ids` that wait, and its values. */
  touchWaiting(ids: readonly string[], time: number): [string, unknown[]] {
    const p = this.placeholder;
    const list = ids.map((_, i) => p(i + 2)).join(', ');
    return [
      `UPDATE ${this.table} SET ${this.column('updatedTime')} = ${p(1)} WHERE ${this.column('status')} IN (${WAITING_STATUSES}) AND ${this.column('id')} IN (${list})`,
      [time, ...ids],
    ];
  }

  /**
   * The DELETE of at most `limit` of the ended jobs a retention rule
   * covers, and its values.
   */
  deleteEnded(rule: RetentionRule, limit: number): [string, unknown[]] {
    // The statuses come typed from the lifecycle's FINAL_STATUSES; Number()
    // keeps anything else out of the text all the same.
    const statuses = rule.statuses.map(Number).join(', ');
    const covered = `${this.column('status')} IN (${statuses}) AND ${this.column('endTime')} < ${this.placeholder(1)}`;
    const id = this.column('id');
    // MySQL and MariaDB take a LIMIT on DELETE, and refuse a subquery on the
    // table being deleted from; PostgreSQL and SQLite, the other way round.
    const sql = this.deleteTakesLimit
      ? `DELETE FROM ${this.table} WHERE ${covered} LIMIT ${Number(limit)}`
      : `DELETE FROM ${this.table} WHERE ${id} IN (SELECT ${id} FROM ${this.table} WHERE ${covered} LIMIT ${Number(limit)})`;
    return [sql, [rule.endedBefore]];
  }

  toRecord(row: ObjectLiteral): JobRecord {
    return recordOfRow(row);
  }
}

/** How a driver writes grouped claims and ends; undefined where it cannot. */
function groupDialectOf(
  driver: DataSource['options']['type'],
): 'unnest' | 'values' | undefined {
  if (driver === 'postgres') return 'unnest';
  // RETURNING came with SQLite 3.35, UPDATE ... FROM with 3.33;
  // better-sqlite3 12 bundles a later one.
  if (driver === 'better-sqlite3') return 'values';
  return undefined;
}
