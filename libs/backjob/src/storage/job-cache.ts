import { JobStatus } from '../interfaces/job-status.enum.js';
import type { JobRecord } from './job-store.js';

/** How long a cache entry lives, in milliseconds; `0` is for ever. */
export type CacheTtl = number;

/**
 * The few operations the cache stores need from a cache, each atomic on its
 * own: with Redis across every instance (one Lua script each), with any other
 * cache only within this process.
 *
 * `indexed` writes also keep the indexes of pending and ended jobs and the
 * merge keys: that is for a cache that is the only store; beside a database,
 * the database does all that.
 */
export abstract class JobCache {
  /**
   * Records a new job, indexed. When a pending job holds its merge key,
   * nothing is written and that job's id is returned instead.
   */
  abstract create(
    job: JobRecord,
    ttl: CacheTtl,
  ): Promise<{ id: string; merged: boolean }>;

  abstract get(id: string): Promise<JobRecord | null>;

  /**
   * Writes a whole record. An ended job replaces whatever is cached; a
   * pending one is written only where nothing is cached, so that a read-through
   * fill from an older read never overwrites a newer state.
   */
  abstract put(job: JobRecord, ttl: CacheTtl): Promise<void>;

  /**
   * Applies `change` when the cached job's status is one of `from`; false
   * when it is not, or when nothing is cached.
   */
  abstract transition(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
    indexed: boolean,
  ): Promise<boolean>;

  /** Ids of indexed pending jobs with no update and no start since `cutoff`. */
  abstract stale(cutoff: number, limit: number): Promise<string[]>;

  /**
   * Deletes indexed ended jobs: completed ones that ended before
   * `completedBefore`, any before `allBefore` (`null`: none). Returns how many.
   */
  abstract deleteEnded(
    completedBefore: number | null,
    allBefore: number | null,
  ): Promise<number>;

  /** Drops the cached entries of these jobs. */
  abstract forget(ids: readonly string[]): Promise<void>;

  /** Called at module init, once every provider of the app exists. */
  prepare?(): void;
}

/** The keys both caches write under `cachePrefix`. */
export class JobCacheKeys {
  constructor(readonly prefix: string) {}

  /** Prefix of the job entries; a job's key is this and its id. */
  get jobPrefix(): string {
    return `${this.prefix}job:`;
  }

  job(id: string): string {
    return `${this.jobPrefix}${id}`;
  }

  /** The index of pending jobs, scored by their last update or start. */
  get pending(): string {
    return `${this.prefix}pending`;
  }

  /** The index of ended jobs with this status, scored by their end. */
  ended(status: JobStatus): string {
    return `${this.prefix}${status === JobStatus.Completed ? 'completed' : 'failed'}`;
  }

  get mergePrefix(): string {
    return `${this.prefix}merge:`;
  }

  merge(mergeKey: string): string {
    return `${this.mergePrefix}${mergeKey}`;
  }
}

/** The time after which a pending job counts as stale: its last update or its start, whichever is later. */
export function staleScore(job: Pick<JobRecord, 'startTime' | 'updatedTime'>) {
  return Math.max(job.startTime, job.updatedTime);
}
