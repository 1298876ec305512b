import type { ResolvedBackJobOptions } from '../backjob.options.js';
import {
  FINAL_STATUSES,
  isFinalStatus,
  keptMs,
} from '../lifecycle/job-lifecycle.js';
import type { CacheTtl } from './job-read-cache.js';
import type { JobRecord } from './job-store.js';

type ExpiryOptions = Pick<
  ResolvedBackJobOptions,
  'backlogDays' | 'allBacklogDays' | 'errorTimeout' | 'pendingCacheTtl'
>;

/** How long cache entries live, by the lifecycle's retention rules. */
export class JobCacheExpiry {
  private constructor(
    private readonly options: ExpiryOptions,
    /** TTL of a pending job, renewed by every write of it. */
    readonly pending: CacheTtl,
    private readonly besideDatabase: boolean,
  ) {}

  /**
   * The cache is the only store: every entry lives as long as the longest
   * kept ended job after its last write (0: for ever). The backlog cleanup
   * deletes ended jobs on time; this is the bound when no cleanup runs.
   */
  static cacheOnly(options: ExpiryOptions): JobCacheExpiry {
    const kept = FINAL_STATUSES.map((status) =>
      keptMs(status, options.backlogDays, options.allBacklogDays),
    );
    const longest = kept.includes(0) ? 0 : Math.max(...kept);
    return new JobCacheExpiry(options, longest, false);
  }

  /**
   * Beside the database, a pending entry lives `pendingCacheTtl` (at most
   * `errorTimeout`) after its job's last write, which renews it. When the
   * instance that ends a job cannot reach the cache, the entry still says
   * pending; other instances serve it that long at most, then read the row.
   * A running job that writes less often is read from the database in
   * between. An ended entry lives until the backlog cleanup deletes the row,
   * never longer.
   */
  static besideDatabase(options: ExpiryOptions): JobCacheExpiry {
    const seconds = Math.min(options.pendingCacheTtl, options.errorTimeout);
    return new JobCacheExpiry(options, seconds * 1000, true);
  }

  /** The TTL of `job` now; `null` when it should not be cached any more. */
  of(
    job: Pick<JobRecord, 'status' | 'endTime' | 'updatedTime'>,
    now = Date.now(),
  ): CacheTtl | null {
    if (!this.besideDatabase || !isFinalStatus(job.status)) return this.pending;
    const { backlogDays, allBacklogDays } = this.options;
    const kept = keptMs(job.status, backlogDays, allBacklogDays);
    if (kept === 0) return 0;
    const left = (job.endTime ?? job.updatedTime) + kept - now;
    return left > 0 ? left : null;
  }
}
