import type { JobEnding, JobStatus } from '../lifecycle/job-lifecycle.js';
import type { JobRecord } from './job-store.js';

/** How long a cache entry lives, in milliseconds; `0` is for ever. */
export type CacheTtl = number;

/**
 * What the database's read-through cache must do, and no more: the database
 * decides every transition and keeps the indexes, the cache holds copies.
 */
export interface JobReadCache {
  get(id: string): Promise<JobRecord | null>;

  /**
   * Writes a whole record. An ended job replaces whatever is cached; a
   * pending one is written only where nothing is cached, so that a
   * read-through fill from an older read never overwrites a newer state.
   */
  put(job: JobRecord, ttl: CacheTtl): Promise<void>;

  /**
   * Applies a transition the database made to the cached copy, when that
   * copy's status is one of `from`; false when it is not, or when nothing
   * is cached.
   */
  follow(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
  ): Promise<boolean>;

  /** Drops the cached entries of these jobs. */
  forget(ids: readonly string[]): Promise<void>;
}

/** What an ending changes in a record, as every cache writes it. */
export function endingChange(
  ending: JobEnding,
  now: number,
): Partial<JobRecord> {
  return {
    status: ending.status,
    statusText: ending.statusText,
    progress: ending.progress,
    result: ending.result,
    endTime: now,
    updatedTime: now,
    mergeKey: null,
  };
}
