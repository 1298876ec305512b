import { QueryFailedError, type Repository } from 'typeorm';
import { BackgroundJobEntity } from '../entities/background-job.entity.js';
import { JobStatements } from './job-statements.js';
import { JobStatus } from '../interfaces/job-status.enum.js';
import {
  JobStore,
  PENDING_STATUSES,
  type JobEnding,
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
    return job !== null && PENDING_STATUSES.includes(job.status);
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

  async deleteEnded(
    completedBefore: number | null,
    allBefore: number | null,
  ): Promise<number> {
    let deleted = 0;
    if (completedBefore !== null) {
      deleted += await this.deleteWhere(
        'status = :status AND end_time < :before',
        {
          status: JobStatus.Completed,
          before: completedBefore,
        },
      );
    }
    if (allBefore !== null) {
      deleted += await this.deleteWhere(
        'status IN (:...ended) AND end_time < :before',
        {
          ended: [JobStatus.Completed, JobStatus.Failed],
          before: allBefore,
        },
      );
    }
    return deleted;
  }

  private async deleteWhere(
    where: string,
    parameters: Record<string, unknown>,
  ): Promise<number> {
    const result = await this.repository
      .createQueryBuilder()
      .delete()
      .where(where, parameters)
      .execute();
    return result.affected ?? 0;
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
