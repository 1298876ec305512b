import {
  CLAIMABLE_STATUSES,
  ENDABLE_STATUSES,
  JobStatus,
  PROGRESS_STATUSES,
  WAITING_STATUSES,
  type FinalStatus,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import {
  endingChange,
  type CacheTtl,
  type JobReadCache,
} from './job-read-cache.js';
import {
  JobStore,
  type JobProgressChange,
  type JobRecord,
} from './job-store.js';

/** How a cache store applies a change. */
export interface CacheTransition {
  /** Also move the job in the indexes: when the cache is the only store. */
  indexed: boolean;
  /** Apply only when the job's last sign of life is before this. */
  silentBefore?: number;
}

/**
 * What the Redis and the cache-manager stores share: the contract's
 * operations as the few atomic steps each of them implements its own way
 * (a Lua script, or a queue of this process). Alone (`useDb: false`) a cache
 * store keeps what the table's indexes give a database: pending jobs for the
 * sweep, ended ones by status for the cleanup, and the merge keys; every
 * entry lives `ttl` after its last write, should no cleanup run. Beside the
 * database it is the read cache, and its writes leave the indexes alone.
 */
export abstract class CacheJobStore extends JobStore implements JobReadCache {
  constructor(
    /** TTL of what the store writes when it is the only store. */
    protected readonly ttl: CacheTtl,
  ) {
    super();
  }

  /**
   * Records a new job, indexed. When a pending job holds its merge key,
   * nothing is written and that job's id is returned instead.
   */
  protected abstract create(
    job: JobRecord,
    ttl: CacheTtl,
  ): Promise<{ id: string; merged: boolean }>;

  /** Applies `change` when the cached job's status is one of `from`. */
  protected abstract transition(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
    how: CacheTransition,
  ): Promise<boolean>;

  /** Ids of indexed pending jobs whose last sign of life is before `cutoff`. */
  protected abstract stale(cutoff: number, limit: number): Promise<string[]>;

  /** Deletes the indexed jobs with `status` that ended before `before`; returns how many. */
  protected abstract deleteEndedBefore(
    status: FinalStatus,
    before: number,
  ): Promise<number>;

  /**
   * Resolves once the cache takes writes: at once, unless its connection is
   * being made again after it was lost. True when it had to wait, so that
   * a job's times can be those of its write (see `CacheOnlyJobStore`).
   */
  whenConnected(): Promise<boolean> {
    return Promise.resolve(false);
  }

  abstract get(id: string): Promise<JobRecord | null>;
  abstract put(job: JobRecord, ttl: CacheTtl): Promise<void>;
  abstract forget(ids: readonly string[]): Promise<void>;

  follow(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
  ): Promise<boolean> {
    return this.transition(id, from, change, ttl, { indexed: false });
  }

  insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    return this.create(job, this.ttl);
  }

  find(id: string): Promise<JobRecord | null> {
    return this.get(id);
  }

  claim(id: string, now: number): Promise<boolean> {
    return this.alone(id, CLAIMABLE_STATUSES, {
      status: JobStatus.InProgress,
      updatedTime: now,
    });
  }

  saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean> {
    return this.alone(id, PROGRESS_STATUSES, { ...change, updatedTime: now });
  }

  end(id: string, ending: JobEnding, now: number): Promise<boolean> {
    return this.alone(id, ENDABLE_STATUSES, endingChange(ending, now));
  }

  async touchWaiting(ids: readonly string[], time: number): Promise<void> {
    await Promise.all(
      ids.map((id) => this.alone(id, WAITING_STATUSES, { updatedTime: time })),
    );
  }

  takeOver(id: string, cutoff: number, now: number): Promise<boolean> {
    return this.transition(
      id,
      WAITING_STATUSES,
      { updatedTime: now },
      this.ttl,
      {
        indexed: true,
        silentBefore: cutoff,
      },
    );
  }

  findStale(cutoff: number, limit: number): Promise<string[]> {
    return this.stale(cutoff, limit);
  }

  async deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    let deleted = 0;
    for (const rule of rules)
      for (const status of rule.statuses)
        deleted += await this.deleteEndedBefore(status, rule.endedBefore);
    return deleted;
  }

  /** A transition of the store alone: indexed, with its own TTL. */
  private alone(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
  ): Promise<boolean> {
    return this.transition(id, from, change, this.ttl, { indexed: true });
  }
}
