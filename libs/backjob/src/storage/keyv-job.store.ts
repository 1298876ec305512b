import {
  isFinalStatus,
  lastSignOfLife,
  PENDING_STATUSES,
  type FinalStatus,
  type JobStatus,
} from '../lifecycle/job-lifecycle.js';
import { CacheJobStore, type CacheTransition } from './cache-job.store.js';
import { JobCacheKeys } from './job-cache.keys.js';
import type { CacheTtl } from './job-read-cache.js';
import { comesAfter, newestFirst } from './job-listing.js';
import type { JobListQuery, JobRecord, JobStatusCounts } from './job-store.js';

/** The part of cache-manager's `Cache` (v5 to v7) used here; TTLs in milliseconds. */
export interface CacheManagerLike {
  get<T>(key: string): Promise<T | null | undefined>;
  set<T>(key: string, value: T, ttl?: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

/** Job ids and their scores, as one cache entry. */
type JobIndex = Record<string, number>;

// One queue per cache object, shared by every app of the process that uses it.
const queues = new WeakMap<object, Promise<unknown>>();

/**
 * Jobs in any cache-manager store (memory, Memcached, a Keyv adapter…),
 * through its plain get/set. Caches like these have no compare-and-set, so
 * each read-check-write runs alone in a queue of this process: atomic for
 * one instance, NOT across instances that share the store — two instances
 * could both claim a job or both end it. Several instances need Redis
 * (`@keyv/redis`), or the database beside the cache.
 */
export class KeyvJobStore extends CacheJobStore {
  private readonly keys: JobCacheKeys;

  constructor(
    private readonly cache: CacheManagerLike,
    prefix: string,
    ttl: CacheTtl,
  ) {
    super(ttl);
    this.keys = new JobCacheKeys(prefix);
  }

  protected create(
    job: JobRecord,
    ttl: CacheTtl,
  ): Promise<{ id: string; merged: boolean }> {
    return this.exclusive(async () => {
      if (job.mergeKey !== null) {
        const mergeKey = this.keys.merge(job.mergeKey);
        const holder = await this.cache.get<string>(mergeKey);
        const held = holder ? await this.get(holder) : null;
        if (held && PENDING_STATUSES.includes(held.status))
          return { id: held.id, merged: true };
        await this.cache.set(mergeKey, job.id, ttl);
      }
      await this.cache.set(this.keys.job(job.id), job, ttl);
      await this.updateIndex(this.keys.pending, (index) => {
        index[job.id] = lastSignOfLife(job);
      });
      for (const key of [this.keys.listed, this.keys.listedIn(job.scope)])
        await this.updateIndex(key, (index) => {
          index[job.id] = job.startTime;
        });
      return { id: job.id, merged: false };
    });
  }

  async get(id: string): Promise<JobRecord | null> {
    const job = await this.cache.get<JobRecord>(this.keys.job(id));
    // A copy: an in-memory store hands out the object it holds. Entries
    // written before `anonymous` existed read as jobs run as a user, those
    // written before `result` and `retryOf` as having none.
    return job
      ? {
          ...job,
          anonymous: job.anonymous ?? false,
          result: job.result ?? null,
          retryOf: job.retryOf ?? null,
        }
      : null;
  }

  put(job: JobRecord, ttl: CacheTtl): Promise<void> {
    return this.exclusive(async () => {
      if (!isFinalStatus(job.status) && (await this.get(job.id))) return;
      await this.cache.set(this.keys.job(job.id), job, ttl);
    });
  }

  protected transition(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
    how: CacheTransition,
  ): Promise<boolean> {
    return this.exclusive(async () => {
      const job = await this.get(id);
      if (!job || !from.includes(job.status)) return false;
      if (
        how.silentBefore !== undefined &&
        lastSignOfLife(job) >= how.silentBefore
      )
        return false;
      const next: JobRecord = { ...job, ...definedFields(change) };
      await this.cache.set(this.keys.job(id), next, ttl);
      if (how.indexed) await this.reindex(job, next);
      return true;
    });
  }

  protected stale(cutoff: number, limit: number): Promise<string[]> {
    return this.exclusive(async () => {
      const ids: string[] = [];
      const expired: string[] = [];
      const index = await this.readIndex(this.keys.pending);
      for (const [id, signOfLife] of Object.entries(index)) {
        if (ids.length >= limit) break;
        if (signOfLife >= cutoff) continue;
        if (await this.get(id)) ids.push(id);
        else expired.push(id);
      }
      await this.updateIndex(this.keys.pending, (current) => {
        for (const id of expired) delete current[id];
      });
      return ids;
    });
  }

  protected deleteEndedBefore(
    status: FinalStatus,
    before: number,
  ): Promise<number> {
    return this.exclusive(async () => {
      const key = this.keys.ended(status);
      const due = Object.entries(await this.readIndex(key))
        .filter(([, endTime]) => endTime < before)
        .map(([id]) => id);
      let deleted = 0;
      for (const id of due) {
        const job = await this.get(id);
        if (job) {
          deleted++;
          await this.unlist(job.scope, [id]);
        }
        await this.cache.del(this.keys.job(id));
      }
      await this.updateIndex(key, (index) => {
        for (const id of due) delete index[id];
      });
      await this.unlist(undefined, due);
      return deleted;
    });
  }

  /**
   * Reads the whole index entry and the jobs of the page one by one: fine
   * for the thousands of jobs one instance keeps, not for millions (use
   * the database or Redis for those).
   */
  list(query: JobListQuery): Promise<JobRecord[]> {
    return this.exclusive(async () => {
      const positions = Object.entries(
        await this.readIndex(this.listIndex(query.scope)),
      )
        .map(([id, startTime]) => ({ id, startTime }))
        .filter((position) => comesAfter(position, query.after))
        .sort(newestFirst);
      const jobs: JobRecord[] = [];
      const expired: string[] = [];
      for (const { id } of positions) {
        if (jobs.length >= query.limit) break;
        const job = await this.get(id);
        if (!job) expired.push(id);
        else if (!query.statuses || query.statuses.includes(job.status))
          jobs.push(job);
      }
      await this.unlist(query.scope, expired);
      return jobs;
    });
  }

  counts(scope?: string): Promise<JobStatusCounts> {
    return this.exclusive(async () => {
      const counts: JobStatusCounts = {};
      const expired: string[] = [];
      for (const id of Object.keys(
        await this.readIndex(this.listIndex(scope)),
      )) {
        const job = await this.get(id);
        if (job) counts[job.status] = (counts[job.status] ?? 0) + 1;
        else expired.push(id);
      }
      await this.unlist(scope, expired);
      return counts;
    });
  }

  private listIndex(scope: string | undefined): string {
    return scope === undefined ? this.keys.listed : this.keys.listedIn(scope);
  }

  /** Drops ids from the list index of `scope` (or of all jobs). */
  private async unlist(
    scope: string | undefined,
    ids: readonly string[],
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.updateIndex(this.listIndex(scope), (index) => {
      for (const id of ids) delete index[id];
    });
  }

  async forget(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.cache.del(this.keys.job(id))));
  }

  /** Moves a job in the indexes from where `before` had it to where `after` goes. */
  private async reindex(before: JobRecord, after: JobRecord): Promise<void> {
    if (!isFinalStatus(after.status)) {
      await this.updateIndex(this.keys.pending, (index) => {
        index[after.id] = lastSignOfLife(after);
      });
      return;
    }
    await this.updateIndex(this.keys.pending, (index) => {
      delete index[after.id];
    });
    await this.updateIndex(this.keys.ended(after.status), (index) => {
      index[after.id] = after.endTime ?? after.updatedTime;
    });
    if (before.mergeKey === null) return;
    const mergeKey = this.keys.merge(before.mergeKey);
    if ((await this.cache.get<string>(mergeKey)) === after.id)
      await this.cache.del(mergeKey);
  }

  private async readIndex(key: string): Promise<JobIndex> {
    return { ...(await this.cache.get<JobIndex>(key)) };
  }

  private async updateIndex(
    key: string,
    change: (index: JobIndex) => void,
  ): Promise<void> {
    const index = await this.readIndex(key);
    change(index);
    await this.cache.set(key, index, 0);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const before = queues.get(this.cache) ?? Promise.resolve();
    const result = before.then(work);
    queues.set(
      this.cache,
      result.catch(() => undefined),
    );
    return result;
  }
}

/** `change` without its undefined fields, which must not erase stored ones. */
function definedFields(change: Partial<JobRecord>): Partial<JobRecord> {
  return Object.fromEntries(
    Object.entries(change).filter(([, value]) => value !== undefined),
  ) as Partial<JobRecord>;
}
