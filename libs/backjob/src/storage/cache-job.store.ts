import type { OnModuleInit } from '@nestjs/common';
import { JobStatus } from '../interfaces/job-status.enum.js';
import type { JobCache } from './job-cache.js';
import type { JobCacheExpiry } from './job-cache.expiry.js';
import {
  endingChange,
  JobStore,
  PENDING_STATUSES,
  type JobEnding,
  type JobProgressChange,
  type JobRecord,
} from './job-store.js';

/**
 * Jobs in the cache alone (`useDb: false`). The cache keeps what the table's
 * indexes give a database: pending jobs for the timeout sweep, ended ones for
 * the backlog cleanup, and the merge keys. Every entry also expires
 * `allBacklogDays` after its last write, should no cleanup run. Transitions
 * are atomic across instances with Redis only (see `KeyvJobCache`).
 */
export class CacheJobStore extends JobStore implements OnModuleInit {
  constructor(
    private readonly cache: JobCache,
    private readonly expiry: JobCacheExpiry,
  ) {
    super();
  }

  /** Finds the cache now, so that a missing one stops the boot. */
  onModuleInit(): void {
    this.cache.prepare?.();
  }

  insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    return this.cache.create(job, this.expiry.pending);
  }

  find(id: string): Promise<JobRecord | null> {
    return this.cache.get(id);
  }

  claim(id: string, now: number): Promise<boolean> {
    return this.cache.transition(
      id,
      [JobStatus.Started],
      { status: JobStatus.InProgress, updatedTime: now },
      this.expiry.pending,
      true,
    );
  }

  saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean> {
    return this.cache.transition(
      id,
      PENDING_STATUSES,
      { ...change, updatedTime: now },
      this.expiry.pending,
      true,
    );
  }

  end(id: string, ending: JobEnding, now: number): Promise<boolean> {
    return this.cache.transition(
      id,
      PENDING_STATUSES,
      endingChange(ending, now),
      this.expiry.pending,
      true,
    );
  }

  findStale(cutoff: number, limit: number): Promise<string[]> {
    return this.cache.stale(cutoff, limit);
  }

  deleteEnded(
    completedBefore: number | null,
    allBefore: number | null,
  ): Promise<number> {
    return this.cache.deleteEnded(completedBefore, allBefore);
  }
}
