import { QueryFailedError, type DataSource } from 'typeorm';
import * as messages from '../backjob.messages.js';
import { JobStoreUnavailableError } from '../errors/job-store-unavailable.error.js';
import {
  ENDING_TEXTS,
  isPendingStatus,
  JobEndings,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import { CallDeadline } from './call-deadline.js';
import { GroupedWrites, type WriteGrouping } from './grouped-writes.js';
import { storeFailure } from './store-failure.js';
import {
  JobStatements,
  type JobClaimWrite,
  type JobEndWrite,
} from './job-statements.js';
import {
  CLEANUP_BATCH,
  JobStore,
  type JobListQuery,
  type JobProgressChange,
  type JobRecord,
  type JobStatusCounts,
} from './job-store.js';

// Ids per heartbeat UPDATE: far below every driver's limit of parameters.
const TOUCH_BATCH = 500;
// Rows per grouped INSERT: with every column a parameter, far below every
// driver's limit (SQLite's 32,766, PostgreSQL's and MySQL's 65,535); and
// jobs per group of inserts, written in one transaction (see runTogether).
const INSERT_ROWS = 200;
const INSERT_GROUP = 400;
// Jobs per grouped claim or end (7 parameters a job on SQLite, arrays on
// PostgreSQL), and the characters of text a grouped end carries at most: one
// statement of outputs near maxOutputBytes each would hold them all in
// memory at once.
const UPDATE_GROUP = 200;
const END_GROUP_TEXT = 4 * 1024 * 1024;

/** Jobs in the app's database through TypeORM (SQLite, PostgreSQL, MySQL/MariaDB). */
export class SqlJobStore extends JobStore {
  private readonly statements: JobStatements;
  private readonly inserts: GroupedWrites<
    JobRecord,
    { id: string; merged: boolean }
  >;
  private readonly writeClaim: (claim: JobClaimWrite) => Promise<boolean>;
  private readonly writeEnd: (end: JobEndWrite) => Promise<boolean>;
  private readonly reads: CallDeadline | undefined;

  /**
   * `timeoutMs`: how long `insert()` and the reads wait for the database (a
   * database that hangs must hang neither `start()` nor `getStatus()`); a
   * record that lands after its caller gave up is ended at once, as never
   * started. Reads are bounded only out of the process: a SQLite statement
   * holds the event loop, so no timer could fire before it ends.
   */
  constructor(dataSource: DataSource, tableName: string, timeoutMs: number) {
    super();
    const statements = new JobStatements(dataSource, tableName);
    this.statements = statements;
    const seconds = timeoutMs / 1000;
    const timedOut = (message: string) => () =>
      new JobStoreUnavailableError(
        new Error(messages.databaseTimeoutReason(seconds)),
        message,
      );
    this.reads = statements.runInProcess
      ? undefined
      : new CallDeadline(
          timeoutMs,
          timedOut(messages.readTimeoutMessage(seconds)),
        );
    this.inserts = new GroupedWrites({
      writeGroup: (jobs) => this.insertAll(jobs),
      // Whatever the driver says (refused, reset, locked, full), a job that
      // start() could not record is one its caller can only start again:
      // one error to catch, with the driver's as its cause. A group that
      // fails is written again row by row, so every driver error comes
      // here; a caller's deadline rejects with that error type already.
      writeOne: (job) =>
        this.insertOne(job).catch((error: unknown) => {
          throw storeFailure(error, messages.jobNotRecordedErrorMessage);
        }),
      maxItems: INSERT_GROUP,
      deadline: {
        ms: timeoutMs,
        error: timedOut(messages.jobNotRecordedMessage(seconds)),
        // Nobody has its id, and the sweep would take it over and run it.
        late: (job, { merged }) => {
          if (!merged)
            this.end(
              job.id,
              JobEndings.failed('', ENDING_TEXTS.recordedTooLate),
              Date.now(),
            ).catch(() => undefined);
        },
      },
    });
    this.writeClaim = this.updateWriter(
      (claim) => this.changedOne(statements.claim, [claim.now, claim.id]),
      (group) => statements.claimMany(group),
    );
    this.writeEnd = this.updateWriter(
      (end) => this.changedOne(statements.end, statements.endValues(end)),
      (group) => statements.endMany(group),
      {
        weightOf: (end) => end.ending.statusText.length,
        maxWeight: END_GROUP_TEXT,
      },
    );
  }

  /**
   * How claims or ends are written: each alone, or in groups where the
   * driver can say which rows one statement changed (`updateGrouping`).
   */
  private updateWriter<W extends { id: string }>(
    one: (write: W) => Promise<boolean>,
    many: (group: W[]) => [string, unknown[]],
    limits: Pick<WriteGrouping<W, boolean>, 'weightOf' | 'maxWeight'> = {},
  ): (write: W) => Promise<boolean> {
    const grouping = this.statements.updateGrouping;
    if (!grouping) return one;
    const writes = new GroupedWrites<W, boolean>({
      writeGroup: (group) => this.changedOfGroup(group, many(group)),
      writeOne: one,
      maxItems: UPDATE_GROUP,
      keyOf: (write) => write.id,
      gatherTurn: grouping.gatherTurn,
      ...limits,
    });
    return (write) => writes.add(write);
  }

  insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    return this.inserts.add(job);
  }

  private async insertAll(
    jobs: JobRecord[],
  ): Promise<{ id: string; merged: boolean }[]> {
    const statements = [];
    for (let i = 0; i < jobs.length; i += INSERT_ROWS)
      statements.push(
        this.statements.insertMany(jobs.slice(i, i + INSERT_ROWS)),
      );
    await this.statements.runTogether(statements);
    return jobs.map((job) => ({ id: job.id, merged: false }));
  }

  private async insertOne(
    job: JobRecord,
  ): Promise<{ id: string; merged: boolean }> {
    const { statements } = this;
    try {
      await statements.run(statements.insert, statements.insertValues(job));
      return { id: job.id, merged: false };
    } catch (error) {
      if (job.mergeKey === null || !isUniqueViolation(error)) throw error;
      const { records } = await statements.run(statements.findByMergeKey, [
        job.mergeKey,
      ]);
      // The pending job ended between our insert and this read: try once more.
      if (records.length === 0) return this.insertOne(job);
      return { id: String(records[0].id), merged: true };
    }
  }

  async find(id: string): Promise<JobRecord | null> {
    const { records } = await this.read(this.statements.find, [id]);
    return records.length > 0 ? this.statements.toRecord(records[0]) : null;
  }

  claim(id: string, now: number): Promise<boolean> {
    return this.writeClaim({ id, now });
  }

  async saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean> {
    if (await this.changedOne(...this.statements.progress(id, change, now)))
      return true;
    // MySQL counts changed rows, not matched ones, when the client lacks the
    // FOUND_ROWS flag (mysql2 sets it, but a user may not): an update that
    // writes the same values in the same millisecond reports 0.
    const job = await this.find(id);
    return job !== null && isPendingStatus(job.status);
  }

  end(id: string, ending: JobEnding, now: number): Promise<boolean> {
    return this.writeEnd({ id, ending, now });
  }

  async touchWaiting(ids: readonly string[], time: number): Promise<void> {
    for (let i = 0; i < ids.length; i += TOUCH_BATCH)
      await this.statements.run(
        ...this.statements.touchWaiting(ids.slice(i, i + TOUCH_BATCH), time),
      );
  }

  takeOver(id: string, cutoff: number, now: number): Promise<boolean> {
    // The new time is after the cutoff the old one was before, so even a
    // MySQL client without FOUND_ROWS counts the row as changed.
    return this.changedOne(
      this.statements.takeOver,
      this.statements.takeOverValues(id, cutoff, now),
    );
  }

  async findStale(cutoff: number, limit: number): Promise<string[]> {
    const { records } = await this.read(
      this.statements.findStale,
      this.statements.findStaleValues(cutoff, limit),
    );
    return records.map((row) => String(row.id));
  }

  async deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    let deleted = 0;
    for (const rule of rules)
      for (;;) {
        const { affected } = await this.statements.run(
          ...this.statements.deleteEnded(rule, CLEANUP_BATCH),
        );
        deleted += affected;
        if (affected < CLEANUP_BATCH) break;
        // A statement of SQLite in this process holds the event loop while
        // it runs: the app's requests go between two of them.
        if (this.statements.runInProcess)
          await new Promise((resolve) => setImmediate(resolve));
      }
    return deleted;
  }

  async list(query: JobListQuery): Promise<JobRecord[]> {
    const { records } = await this.read(...this.statements.list(query));
    return records.map((row) => this.statements.toRecord(row));
  }

  async counts(scope?: string): Promise<JobStatusCounts> {
    const { records } =
      scope === undefined
        ? await this.read(this.statements.countsAll, [])
        : await this.read(this.statements.countsInScope, [scope]);
    return Object.fromEntries(
      records.map((row) => [Number(row.status), Number(row.total)]),
    );
  }

  /**
   * A SELECT, within the deadline of a database out of the process. A
   * driver's error (refused, reset, no such table) becomes the one error a
   * caller of the reads can expect, with the driver's as its cause.
   */
  private read(sql: string, values: unknown[]) {
    const running = this.statements.run(sql, values).catch((error) => {
      throw storeFailure(error, messages.readFailedMessage);
    });
    return this.reads ? this.reads.bound(running) : running;
  }

  private async changedOne(sql: string, values: unknown[]): Promise<boolean> {
    return (await this.statements.run(sql, values)).affected === 1;
  }

  /** Which jobs of `group` a grouped UPDATE changed, from the ids it returned. */
  private async changedOfGroup(
    group: readonly { id: string }[],
    [sql, values]: [string, unknown[]],
  ): Promise<boolean[]> {
    const { records } = await this.statements.run(sql, values);
    const changed = new Set(records.map((row) => String(row.id)));
    return group.map((write) => changed.has(write.id));
  }
}

/** A duplicate merge key, in the words of each driver. */
function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as
    { code?: string; errno?: number } | undefined;
  const code = String(driverError?.code ?? '');
  return (
    code === '23505' || // PostgreSQL unique_violation
    code === 'ER_DUP_ENTRY' || // MySQL / MariaDB through mysql2
    driverError?.errno === 1062 || // the same, by number (other drivers)
    code.startsWith('SQLITE_CONSTRAINT')
  );
}
