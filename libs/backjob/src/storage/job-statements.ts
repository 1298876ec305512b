import type { DataSource, ObjectLiteral } from 'typeorm';
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
  JOB_COLUMNS,
  jobColumn,
  recordOfRow,
  toColumnValue,
} from './job-table.schema.js';

/** What a statement did: its rows, or how many rows it changed. */
export interface StatementResult {
  records: ObjectLiteral[];
  affected: number;
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
  private readonly columns: string;
  private readonly progressStatements = new Map<string, string>();
  private readonly insertStatements = new Map<number, string>();
  private readonly table: string;
  private readonly escape: (name: string) => string;
  private readonly placeholder: (index: number) => string;
  /** `start_time < ? AND updated_time < ?`: no sign of life since the cutoff. */
  private readonly silentSince: (first: number) => string;

  constructor(
    private readonly dataSource: DataSource,
    tableName: string,
  ) {
    const escape = (name: string) => dataSource.driver.escape(name);
    this.escape = escape;
    this.table = escape(tableName);
    this.placeholder =
      dataSource.options.type === 'postgres' ? (i) => `$${i}` : () => '?';
    const p = this.placeholder;
    const column = (property: keyof JobRecord) =>
      escape(jobColumn(property).name);
    this.silentSince = (first) =>
      SIGN_OF_LIFE_FIELDS.map(
        (field, i) => `${column(field)} < ${p(first + i)}`,
      ).join(' AND ');
    const columns = JOB_COLUMNS.map(({ name }) => escape(name));
    this.columns = columns.join(', ');
    const [id, status, updated] = [
      column('id'),
      column('status'),
      column('updatedTime'),
    ];
    this.insert = `INSERT INTO ${this.table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => p(i + 1)).join(', ')})`;
    this.find = `SELECT ${columns.join(', ')} FROM ${this.table} WHERE ${id} = ${p(1)}`;
    this.findByMergeKey = `SELECT ${id} FROM ${this.table} WHERE ${column('mergeKey')} = ${p(1)}`;
    this.claim = `UPDATE ${this.table} SET ${status} = ${JobStatus.InProgress}, ${updated} = ${p(1)} WHERE ${id} = ${p(2)} AND ${status} IN (${CLAIMABLE_STATUSES})`;
    this.end =
      `UPDATE ${this.table} SET ${status} = ${p(1)}, ${column('statusText')} = ${p(2)}, ${column('progress')} = COALESCE(${p(3)}, ${column('progress')}), ` +
      `${column('result')} = COALESCE(${p(4)}, ${column('result')}), ${column('endTime')} = ${p(5)}, ${updated} = ${p(6)}, ${column('mergeKey')} = NULL ` +
      `WHERE ${id} = ${p(7)} AND ${status} IN (${ENDABLE_STATUSES})`;
    this.countsAll = `SELECT ${status} AS status, COUNT(*) AS total FROM ${this.table} GROUP BY ${status}`;
    this.countsInScope = `SELECT ${status} AS status, COUNT(*) AS total FROM ${this.table} WHERE ${column('scope')} = ${p(1)} GROUP BY ${status}`;
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

  endValues(id: string, ending: JobEnding, now: number): unknown[] {
    return [
      ending.status,
      ending.statusText,
      ending.progress ?? null,
      ending.result ?? null,
      now,
      now,
      id,
    ];
  }

  /** The SELECT of a page of `list()`, newest first, and its values. */
  list(query: JobListQuery): [string, unknown[]] {
    const p = this.placeholder;
    const [scope, start, id] = (['scope', 'startTime', 'id'] as const).map(
      (property) => this.escape(jobColumn(property).name),
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
        `${this.escape('status')} IN (${query.statuses.map(Number).join(', ')})`,
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
      .map((property) => [jobColumn(property).name, change[property]] as const);
    const key = set.map(([column]) => column).join(',');
    let sql = this.progressStatements.get(key);
    if (!sql) {
      const p = this.placeholder;
      const assignments = set.map(
        ([column], i) => `${this.escape(column)} = ${p(i + 1)}`,
      );
      assignments.push(
        `${this.escape(jobColumn('updatedTime').name)} = ${p(set.length + 1)}`,
      );
      sql = `UPDATE ${this.table} SET ${assignments.join(', ')} WHERE ${this.escape('id')} = ${p(set.length + 2)} AND ${this.escape('status')} IN (${PROGRESS_STATUSES})`;
      this.progressStatements.set(key, sql);
    }
    return [sql, [...set.map(([, value]) => value), now, id]];
  }

  /** The UPDATE of the heartbeat of those of `ids` that wait, and its values. */
  touchWaiting(ids: readonly string[], time: number): [string, unknown[]] {
    const p = this.placeholder;
    const list = ids.map((_, i) => p(i + 2)).join(', ');
    return [
      `UPDATE ${this.table} SET ${this.escape(jobColumn('updatedTime').name)} = ${p(1)} WHERE ${this.escape('status')} IN (${WAITING_STATUSES}) AND ${this.escape('id')} IN (${list})`,
      [time, ...ids],
    ];
  }

  /** The DELETE of the ended jobs a retention rule covers, and its values. */
  deleteEnded(rule: RetentionRule): [string, unknown[]] {
    // The statuses come typed from the lifecycle's FINAL_STATUSES; Number()
    // keeps anything else out of the text all the same.
    const statuses = rule.statuses.map(Number).join(', ');
    return [
      `DELETE FROM ${this.table} WHERE ${this.escape('status')} IN (${statuses}) AND ${this.escape(jobColumn('endTime').name)} < ${this.placeholder(1)}`,
      [rule.endedBefore],
    ];
  }

  toRecord(row: ObjectLiteral): JobRecord {
    return recordOfRow(row);
  }

  async run(sql: string, values: unknown[]): Promise<StatementResult> {
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      const result = await queryRunner.query(sql, values, true);
      return {
        records: Array.isArray(result.records) ? result.records : [],
        affected: result.affected ?? 0,
      };
    } finally {
      await queryRunner.release();
    }
  }
}
