import type { LoggerService } from '@nestjs/common';
import * as messages from '../backjob.messages.js';
import { JobStoreUnavailableError } from '../errors/job-store-unavailable.error.js';
import {
  ENDING_TEXTS,
  JobEndings,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import { withinCacheTimeout } from './cache-guard.js';
import type { CacheJobStore } from './cache-job.store.js';
import {
  JobStore,
  type JobListQuery,
  type JobProgressChange,
  type JobRecord,
  type JobStatusCounts,
} from './job-store.js';

/**
 * The cache as the only store (`useDb: false`). With no database to fall
 * back to, a cache that fails or hangs must not hang its callers either:
 * every call is bounded by `cacheTimeout` and rejects with
 * `JobStoreUnavailableError`, with one warning per outage (not per call)
 * and one line when the cache answers again. A job's times are those of
 * the write of its record: a `start()` that waited for the cache's
 * connection within `cacheTimeout` moves them by that wait. A job whose
 * record lands after its `start()` gave up is ended at once, never run.
 */
export class CacheOnlyJobStore extends JobStore {
  private down = false;

  constructor(
    private readonly cache: CacheJobStore,
    private readonly timeoutMs: number,
    private readonly logger: LoggerService,
  ) {
    super();
  }

  async insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    let gaveUp = false;
    let sent = false;
    try {
      return await this.call(async () => {
        const asked = Date.now();
        if (await this.cache.whenConnected()) {
          // A write nobody waits for any more would leave a job that no
          // caller has the id of: it is not sent at all.
          if (gaveUp) return { id: job.id, merged: false };
          // Times from before the wait would make the job look silent for
          // that long, or stale to the sweep after a long outage.
          const waited = Date.now() - asked;
          job.startTime += waited;
          job.updatedTime += waited;
        }
        sent = true;
        return this.cache.insert(job);
      });
    } catch (error) {
      gaveUp = true;
      // The write may still land once the cache answers (a hung connection
      // delivers it late), with the times of a start() that failed: a job
      // nobody has the id of, that the sweep would take over and run. Sent
      // after it on the same connection, this ends it if it landed.
      if (sent)
        this.cache
          .end(
            job.id,
            JobEndings.failed('', ENDING_TEXTS.storeDidNotAnswer),
            Date.now(),
          )
          .catch(() => undefined);
      throw error;
    }
  }

  find(id: string): Promise<JobRecord | null> {
    return this.call(() => this.cache.find(id));
  }

  claim(id: string, now: number): Promise<boolean> {
    return this.call(() => this.cache.claim(id, now));
  }

  saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean> {
    return this.call(() => this.cache.saveProgress(id, change, now));
  }

  end(id: string, ending: JobEnding, now: number): Promise<boolean> {
    return this.call(() => this.cache.end(id, ending, now));
  }

  touchWaiting(ids: readonly string[], time: number): Promise<void> {
    return this.call(() => this.cache.touchWaiting(ids, time));
  }

  takeOver(id: string, cutoff: number, now: number): Promise<boolean> {
    return this.call(() => this.cache.takeOver(id, cutoff, now));
  }

  findStale(cutoff: number, limit: number): Promise<string[]> {
    return this.call(() => this.cache.findStale(cutoff, limit));
  }

  deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    return this.call(() => this.cache.deleteEnded(rules));
  }

  list(query: JobListQuery): Promise<JobRecord[]> {
    return this.call(() => this.cache.list(query));
  }

  counts(scope?: string): Promise<JobStatusCounts> {
    return this.call(() => this.cache.counts(scope));
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const value = await withinCacheTimeout(work(), this.timeoutMs);
      if (this.down) {
        this.down = false;
        this.logger.log(messages.jobStoreRecoveredMessage());
      }
      return value;
    } catch (error) {
      if (!this.down) {
        this.down = true;
        this.logger.warn(messages.jobStoreUnavailableWarning(error));
      }
      throw new JobStoreUnavailableError(error);
    }
  }
}
