import type { DataSource, ObjectLiteral } from 'typeorm';
import {
  CLAIMABLE_STATUSES,
  ENDABLE_STATUSES,
  JobStatus,
  PROGRESS_STATUSES,
} from '../lifecycle/job-lifecycle.js';
import type { JobEnding } from '../lifecycle/job-lifecycle.js';
import type { JobProgressChange, JobRecord } from './job-store.js';

const inList = (statuses: readonly JobStatus[]) => `(${statuses.join(', ')})`;

/** Columns in the order the statements read and write them. */
const COLUMNS = [
  ['id', 'id'],
  ['scope', 'scope'],
  ['progress', 'progress'],
  ['status', 'status'],
  ['startTime', 'start_time'],
  ['updatedTime', 'updated_time'],
  ['endTime', 'end_time'],
  ['request', 'request'],
  ['statusText', 'status_text'],
  ['mergeKey', 'merge_key'],
  ['anonymous', 'anonymous'],
] as const satisfies readonly (readonly [keyof JobRecord, string])[];

/** What a statement did: its rows, or how many rows it changed. */
export interface StatementResult {
  records: ObjectLiteral[];
  affected: number;
}

/**
 * The statements of a job's hot path (insert, read, claim, progress, end),
 * written once for the data source's driver and table. Query builders cost
 * more than the queries themselves on SQLite; fixed texts also stay in the
 * driver's prepared-statement cache.
 */
export class JobStatements {
  readonly insert: string;
  readonly find: string;
  readonly claim: string;
  readonly end: string;
  private readonly progressStatements = new Map<string, string>();
  private readonly table: string;
  private readonly escape: (name: string) => string;
  private readonly placeholder: (index: number) => string;

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
    const columns = COLUMNS.map(([, column]) => escape(column));
    this.insert = `INSERT INTO ${this.table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => p(i + 1)).join(', ')})`;
    this.find = `SELECT ${columns.join(', ')} FROM ${this.table} WHERE id = ${p(1)}`;
    this.claim = `UPDATE ${this.table} SET status = ${JobStatus.InProgress}, updated_time = ${p(1)} WHERE id = ${p(2)} AND status IN ${inList(CLAIMABLE_STATUSES)}`;
    this.end =
      `UPDATE ${this.table} SET status = ${p(1)}, status_text = ${p(2)}, progress = COALESCE(${p(3)}, progress), ` +
      `end_time = ${p(4)}, updated_time = ${p(5)}, merge_key = NULL WHERE id = ${p(6)} AND status IN ${inList(ENDABLE_STATUSES)}`;
  }

  insertValues(job: JobRecord): unknown[] {
    return COLUMNS.map(([property]) =>
      property === 'anonymous' ? Number(job.anonymous) : job[property],
    );
  }

  endValues(id: string, ending: JobEnding, now: number): unknown[] {
    return [
      ending.status,
      ending.statusText,
      ending.progress ?? null,
      now,
      now,
      id,
    ];
  }

  /** The UPDATE of a pending job's progress and/or text, and its values. */
  progress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): [string, unknown[]] {
    const set: [string, unknown][] = [];
    if (change.progress !== undefined) set.push(['progress', change.progress]);
    if (change.statusText !== undefined)
      set.push(['status_text', change.statusText]);
    const key = set.map(([column]) => column).join(',');
    let sql = this.progressStatements.get(key);
    if (!sql) {
      const p = this.placeholder;
      const assignments = set.map(
        ([column], i) => `${this.escape(column)} = ${p(i + 1)}`,
      );
      assignments.push(`${this.escape('updated_time')} = ${p(set.length + 1)}`);
      sql = `UPDATE ${this.table} SET ${assignments.join(', ')} WHERE id = ${p(set.length + 2)} AND status IN ${inList(PROGRESS_STATUSES)}`;
      this.progressStatements.set(key, sql);
    }
    return [sql, [...set.map(([, value]) => value), now, id]];
  }

  /** A stored row as a record: BIGINT comes back as a string from PostgreSQL and MySQL. */
  toRecord(row: ObjectLiteral): JobRecord {
    return {
      id: row.id,
      scope: row.scope,
      progress: Number(row.progress),
      status: Number(row.status) as JobStatus,
      startTime: Number(row.start_time),
      updatedTime: Number(row.updated_time),
      endTime: row.end_time === null ? null : Number(row.end_time),
      request: row.request,
      statusText: row.status_text,
      mergeKey: row.merge_key,
      anonymous: Number(row.anonymous) === 1,
    };
  }

  async run(sql: string, values: unknown[]): Promise<StatementResult> {
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      const result = await queryRunner.query(sql, values, true);
      return { records: result.records ?? [], affected: result.affected ?? 0 };
    } finally {
      await queryRunner.release();
    }
  }
}
