import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { concat, defer, filter, merge, of, type Observable } from 'rxjs';
import { RunningJobs } from '../flow/running-jobs.js';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { JobNotFoundError } from '../errors/job-not-found.error.js';
import { JobWatchStoppedError } from '../errors/job-watch-stopped.error.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import type { JobRecord } from '../storage/job-store.js';
import { JobTracker } from '../storage/job-tracker.js';
import { JobChangeRelay } from './job-change.relay.js';
import { JobFeed, type JobFeedSources } from './job-feed.js';
import { isStalled } from '../lifecycle/job-lifecycle.js';
import { toJobSnapshot } from './job-snapshot.js';
import { ProgressEstimator } from './progress-estimator.js';

/**
 * `watch()` and the snapshots of `getStatus()`. Watchers of one job share a
 * single feed; a change made in this instance reaches them as soon as it is
 * stored, a change made elsewhere through `JobChangeRelay` (Redis or polling).
 */
@Injectable()
export class JobFeedService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  private readonly feeds = new Map<string, JobFeed>();
  private readonly sources: JobFeedSources;

  constructor(
    tracker: JobTracker,
    relay: JobChangeRelay,
    running: RunningJobs,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {
    this.sources = {
      read: (id) => tracker.read(id),
      changes: (id) =>
        merge(
          tracker.changes.pipe(filter((changed) => changed === id)),
          relay.remoteChanges(id),
        ),
      // What is reported from now on, after what was reported before the
      // feed began and is not written yet (a watcher that reconnects).
      live: (id) =>
        defer(() => {
          const unwritten = running.unwrittenProgress(id);
          const reported = tracker.liveProgress.pipe(
            filter((live) => live.id === id),
          );
          return unwritten ? concat(of(unwritten), reported) : reported;
        }),
      notFound: (id) => new JobNotFoundError(id),
      warn: (message) => this.logger.warn(message),
      errorTimeout: options.errorTimeout,
    };
  }

  watch(id: string): Observable<JobStatusSnapshot> {
    return defer(() => this.feedOf(id).observe());
  }

  /** The snapshot of a job read once: its pace is the average since it started. */
  snapshot(job: JobRecord, now = Date.now()): JobStatusSnapshot {
    return toJobSnapshot(
      job,
      new ProgressEstimator().estimate(job, now),
      isStalled(job, now, this.options.errorTimeout),
    );
  }

  /** How many jobs have watchers in this instance. */
  get watchedJobs(): number {
    return this.feeds.size;
  }

  // Before the HTTP server closes: an open event stream would keep it open.
  // Nest ends the responses a few ticks later; waiting for that lets the
  // server find their connections idle and close them at once, rather than
  // after keepAliveTimeout.
  async beforeApplicationShutdown(): Promise<void> {
    const feeds = [...this.feeds.values()];
    feeds.forEach((feed) => feed.abort(new JobWatchStoppedError(feed.jobId)));
    if (feeds.length) await new Promise((resolve) => setImmediate(resolve));
  }

  private feedOf(id: string): JobFeed {
    let feed = this.feeds.get(id);
    if (!feed) {
      feed = new JobFeed(id, this.sources, (stopped) => {
        if (this.feeds.get(id) === stopped) this.feeds.delete(id);
      });
      this.feeds.set(id, feed);
    }
    return feed;
  }
}
