import {
  CLAIMABLE_STATUSES,
  ENDABLE_STATUSES,
  JobStatus,
  PROGRESS_STATUSES,
  WAITING_STATUSES,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import type { CacheGuard } from './cache-guard.js';
import type { JobCacheExpiry } from './job-cache.expiry.js';
import { endingChange, type JobReadCache } from './job-read-cache.js';
import {
  JobStore,
  type JobListQuery,
  type JobProgressChange,
  type JobRecord,
  type JobStatusCounts,
} from './job-store.js';

/**
 * Jobs in the database, read through and written through a cache. The
 * database decides every transition; the cache gets the same change only
 * where its own copy is still in the state the change starts from, and a
 * read-through fill never replaces a cached entry with a pending one. So a
 * late progress write or an old read cannot put back an unfinished status
 * once the job has ended. The cache is guarded: when it is down or slow,
 * everything goes to the database. A pending entry lives only
 * `pendingCacheTtl` after its job's last write: an instance whose cache
 * missed the end cannot have it served by the others for longer.
 */
export class LayeredJobStore extends JobStore {
  constructor(
    private readonly database: JobStore,
    private readonly cache: JobReadCache,
    private readonly guard: CacheGuard,
    private readonly expiry: JobCacheExpiry,
  ) {
    super();
  }

  async insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    const result = await this.database.insert(job);
    if (!result.merged)
      await this.guard.write(job.id, () =>
        this.cache.put(job, this.expiry.pending),
      );
    return result;
  }

  async find(id: string): Promise<JobRecord | null> {
    const cached = await this.guard.read(() => this.cache.get(id));
    if (cached) return cached;
    const job = await this.database.find(id);
    if (job) await this.guard.write(id, () => this.fill(job));
    return job;
  }

  async claim(id: string, now: number): Promise<boolean> {
    const claimed = await this.database.claim(id, now);
    if (claimed)
      await this.follow(id, CLAIMABLE_STATUSES, {
        status: JobStatus.InProgress,
        updatedTime: now,
      });
    return claimed;
  }

  async saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean> {
    const saved = await this.database.saveProgress(id, change, now);
    if (saved)
      await this.follow(id, PROGRESS_STATUSES, { ...change, updatedTime: now });
    return saved;
  }

  async end(id: string, ending: JobEnding, now: number): Promise<boolean> {
    const ended = await this.database.end(id, ending, now);
    const ttl = this.expiry.of({ ...ending, endTime: now, updatedTime: now });
    const followed =
      ended &&
      ttl !== null &&
      (await this.guard.read(() =>
        this.cache.follow(id, ENDABLE_STATUSES, endingChange(ending, now), ttl),
      ));
    if (followed) return ended;
    // Nothing cached to follow, or the database had ended the job before (a
    // stale cached entry is how a timed-out job gets here): the cache gets
    // the row as it is.
    const job = await this.database.find(id);
    await this.guard.write(id, () =>
      job ? this.fill(job) : this.cache.forget([id]),
    );
    return ended;
  }

  async touchWaiting(ids: readonly string[], time: number): Promise<void> {
    await this.database.touchWaiting(ids, time);
    // A cached copy with the old time would look stale to other instances.
    await Promise.all(
      ids.map((id) => this.follow(id, WAITING_STATUSES, { updatedTime: time })),
    );
  }

  async takeOver(id: string, cutoff: number, now: number): Promise<boolean> {
    const taken = await this.database.takeOver(id, cutoff, now);
    if (taken) await this.follow(id, WAITING_STATUSES, { updatedTime: now });
    return taken;
  }

  findStale(cutoff: number, limit: number): Promise<string[]> {
    return this.database.findStale(cutoff, limit);
  }

  deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    // Cached entries of these jobs expire at the same time (JobCacheExpiry).
    return this.database.deleteEnded(rules);
  }

  // Listing is the database's: only it has every job and their indexes.
  list(query: JobListQuery): Promise<JobRecord[]> {
    return this.database.list(query);
  }

  counts(scope?: string): Promise<JobStatusCounts> {
    return this.database.counts(scope);
  }

  override onApplicationShutdown(): void {
    this.guard.stop();
  }

  private async follow(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
  ): Promise<void> {
    await this.guard.write(id, () =>
      this.cache.follow(id, from, change, this.expiry.pending),
    );
  }

  private async fill(job: JobRecord): Promise<void> {
    const ttl = this.expiry.of(job);
    if (ttl === null) await this.cache.forget([job.id]);
    else await this.cache.put(job, ttl);
  }
}
