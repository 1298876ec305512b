import { QueryFailedError, type Repository } from 'typeorm';
import { BackgroundJobEntity } from '../entities/background-job.entity.js';
import { JobStatements } from './job-statements.js';
import {
  isPendingStatus,
  PENDING_STATUSES,
  WAITING_STATUSES,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import {
  JobStore,
  type JobProgressChange,
  type JobRecord,
} from './job-store.js';

/** Jobs in the app's database through TypeORM (SQLite, PostgreSQL, MySQL/MariaDB). */
export class DatabaseJobStore extends JobStore {
  private readonly statements: JobStatements;

  constructor(private readonly repository: Repository<BackgroundJobEntity>) {
    super();
    this.statements = new JobStatements(
      repository.manager.connection,
      repository.metadata.tableName,
    );
  }

  async insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    try {
      await this.statements.run(
        this.statements.insert,
        this.statements.insertValues(job),
      );
      return { id: job.id, merged: false };
    } catch (error) {
      if (job.mergeKey === null || !isUniqueViolation(error)) throw error;
      const pending = await this.repository.findOne({
        select: { id: true },
        where: { mergeKey: job.mergeKey },
      });
      // The pending job ended between our insert and this read: try once more.
      if (!pending) return this.insert(job);
      return { id: pending.id, merged: true };
    }
  }

  async find(id: string): Promise<JobRecord | null> {
    const { records } = await this.statements.run(this.statements.find, [id]);
    return records.length > 0 ? this.statements.toRecord(records[0]) : null;
  }

  async claim(id: string, now: number): Promise<boolean> {
    const { affected } = await this.statements.run(this.statements.claim, [
      now,
      id,
    ]);
    return affected === 1;
  }

  async saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean> {
    const { affected } = await this.statements.run(
      ...this.statements.progress(id, change, now),
    );
    if (affected === 1) return true;
    // MySQL counts changed rows, not matched ones, when the client lacks the
    // FOUND_ROWS flag (mysql2 sets it, but a user may not): an update that
    // writes the same values in the same millisecond reports 0.
    const job = await this.find(id);
    return job !== null && isPendingStatus(job.status);
  }

  async end(id: string, ending: JobEnding, now: number): Promise<boolean> {
    const { affected } = await this.statements.run(
      this.statements.end,
      this.statements.endValues(id, ending, now),
    );
    return affected === 1;
  }

  async findStale(cutoff: number, limit: number): Promise<string[]> {
    const rows = await this.repository
      .createQueryBuilder('job')
      .select('job.id', 'id')
      .where('job.status IN (:...pending)', { pending: PENDING_STATUSES })
      .andWhere('job.updatedTime < :cutoff', { cutoff })
      .andWhere('job.startTime < :cutoff', { cutoff })
      .limit(limit)
      .getRawMany<{ id: string }>();
    return rows.map((row) => row.id);
  }

  async touchWaiting(ids: readonly string[], time: number): Promise<void> {
    if (ids.length === 0) return;
    await this.repository
      .createQueryBuilder()
      .update()
      .set({ updatedTime: time })
      .where('id IN (:...ids)', { ids })
      .andWhere('status IN (:...waiting)', { waiting: WAITING_STATUSES })
      .execute();
  }

  async takeOver(id: string, cutoff: number, now: number): Promise<boolean> {
    const result = await this.repository
      .createQueryBuilder()
      .update()
      .set({ updatedTime: now })
      .where('id = :id', { id })
      .andWhere('status IN (:...waiting)', { waiting: WAITING_STATUSES })
      .andWhere('updated_time < :cutoff AND start_time < :cutoff', { cutoff })
      .execute();
    return result.affected === 1;
  }

  async deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    let deleted = 0;
    for (const rule of rules) {
      const result = await this.repository
        .createQueryBuilder()
        .delete()
        .where('status IN (:...statuses) AND end_time < :before', {
          statuses: rule.statuses,
          before: rule.endedBefore,
        })
        .execute();
      deleted += result.affected ?? 0;
    }
    return deleted;
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
