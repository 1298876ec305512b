import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { isFinalStatus, JobStatus } from '../interfaces/job-status.enum.js';
import type { CacheTtl } from './job-cache.js';
import type { JobRecord } from './job-store.js';

const DAY_MS = 24 * 60 * 60 * 1000;

type ExpiryOptions = Pick<
  ResolvedBackJobOptions,
  'backlogDays' | 'allBacklogDays' | 'errorTimeout'
>;

/** How long cache entries live. */
export class JobCacheExpiry {
  private constructor(
    private readonly options: ExpiryOptions,
    /** TTL of a pending job, renewed by every write of it. */
    readonly pending: CacheTtl,
    private readonly besideDatabase: boolean,
  ) {}

  /**
   * The cache is the only store: every entry lives `allBacklogDays` after
   * its last write (0: for ever). The backlog cleanup deletes ended jobs on
   * time; this is the bound when no cleanup runs.
   */
  static cacheOnly(options: ExpiryOptions): JobCacheExpiry {
    return new JobCacheExpiry(options, options.allBacklogDays * DAY_MS, false);
  }

  /**
   * Beside the database, a pending entry lives `errorTimeout`: a job that
   * long without a write has timed out anyway, and an entry that missed its
   * job's end cannot be served for longer than that. An ended entry lives
   * until the backlog cleanup deletes the row, never longer.
   */
  static besideDatabase(options: ExpiryOptions): JobCacheExpiry {
    return new JobCacheExpiry(options, options.errorTimeout * 1000, true);
  }

  /** The TTL of `job` now; `null` when it should not be cached any more. */
  of(
    job: Pick<JobRecord, 'status' | 'endTime' | 'updatedTime'>,
    now = Date.now(),
  ): CacheTtl | null {
    if (!this.besideDatabase || !isFinalStatus(job.status)) return this.pending;
    const days = this.keptDays(job.status);
    if (days === 0) return 0;
    const left = (job.endTime ?? job.updatedTime) + days * DAY_MS - now;
    return left > 0 ? left : null;
  }

  private keptDays(status: JobStatus): number {
    const { backlogDays, allBacklogDays } = this.options;
    if (status !== JobStatus.Completed || backlogDays === 0)
      return allBacklogDays;
    return allBacklogDays === 0
      ? backlogDays
      : Math.min(backlogDays, allBacklogDays);
  }
}
