import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { outsideRequests } from '../backjob.context.js';
import {
  isFinalStatus,
  isStalled,
  isRunningStatus,
  lastSignOfLife,
  stallTime,
} from '../lifecycle/job-lifecycle.js';
import * as messages from '../backjob.messages.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import type { JobRecord } from '../storage/job-store.js';
import type { LiveProgress } from '../storage/job-tracker.js';
import { toJobSnapshot } from './job-snapshot.js';
import { ProgressEstimator } from './progress-estimator.js';
import { StoreOutage } from '../storage/store-outage.js';

/** What a feed needs from the rest of the module. */
export interface JobFeedSources {
  /** Reads the job, failing it when it timed out; `null` when there is none. */
  read(id: string): Promise<JobRecord | null>;
  /** Ticks after which the job may have changed (here or elsewhere). */
  changes(id: string): Observable<unknown>;
  /** Progress its handler reports in this instance, before it is written. */
  live(id: string): Observable<LiveProgress>;
  /** The error for an id that no job has. */
  notFound(id: string): Error;
  /** Logs a warning. */
  warn(message: string): void;
  /** Seconds, as the `errorTimeout` option. */
  errorTimeout: number;
}

// The timeout rule fails a job strictly after errorTimeout; reading a little
// later makes sure the read is the one that fails it.
const TIMEOUT_MARGIN_MS = 10;
// A floor for the recheck timer, in case a timed-out job cannot be failed yet
// (a store error, or another writer got there first).
const MIN_RECHECK_MS = 1000;
// How soon a read that failed is tried again (the store is away).
const READ_RETRY_MS = 1000;

/**
 * The live state of one job in this instance, shared by all its watchers:
 * one read of the store per change however many are watching, reads one at
 * a time (a change during a read is followed by one more read), and
 * snapshots sent only when something visible changed.
 *
 * Besides the change ticks, a timer reads the job again when it would turn
 * stalled and when it would time out, so that watchers learn both even when
 * no instance says anything (it died). A read that fails once watchers have
 * a snapshot is tried again every second: a database failover does not end
 * their streams.
 */
export class JobFeed {
  private readonly subscribers = new Set<Subscriber<JobStatusSnapshot>>();
  private readonly estimator = new ProgressEstimator();
  private latest: JobRecord | undefined;
  private lastSent: JobStatusSnapshot | undefined;
  private ticks: Subscription | undefined;
  private liveTicks: Subscription | undefined;
  /** What the handler reported here and the store may not have yet. */
  private live: LiveProgress | undefined;
  /** True when the last snapshot sent came from such a report. */
  private lastSentLive = false;
  private recheck: ReturnType<typeof setTimeout> | undefined;
  private reading = false;
  private readAgain = false;
  private readonly readOutage = new StoreOutage();
  private stopped = false;

  constructor(
    readonly jobId: string,
    private readonly sources: JobFeedSources,
    private readonly onStop: (feed: JobFeed) => void,
  ) {}

  /** Snapshots from now on: the current one at once, then every change. */
  observe(): Observable<JobStatusSnapshot> {
    return new Observable<JobStatusSnapshot>((subscriber) => {
      this.subscribers.add(subscriber);
      // A late watcher gets the state already read, with ETA and stalled as
      // of now rather than as of the last change.
      if (this.latest)
        subscriber.next(this.snapshotOf(this.withLive(this.latest)));
      // Its sources and timers serve every watcher of the job: made
      // outside the first watcher's request, or the others' snapshots
      // would come within it.
      if (!this.ticks) outsideRequests(() => this.start());
      return () => this.leave(subscriber);
    });
  }

  /** Ends every watcher with `error` and lets go of everything. */
  abort(error: Error): void {
    const subscribers = this.stop();
    subscribers.forEach((subscriber) => subscriber.error(error));
  }

  private start(): void {
    this.ticks = this.sources
      .changes(this.jobId)
      .subscribe(() => this.refresh());
    this.liveTicks = this.sources
      .live(this.jobId)
      .subscribe((live) => this.receiveLive(live));
    this.refresh();
  }

  /** Shows reported progress at once, on the last state read. */
  private receiveLive(live: LiveProgress): void {
    this.live = live;
    if (this.latest && isRunningStatus(this.latest.status))
      this.send(this.snapshotOf(this.withLive(this.latest)), true);
  }

  /**
   * The job read, with the progress reported here since its last write: a
   * read that lands before that write must not take the bar back.
   */
  private withLive(job: JobRecord): JobRecord {
    const live = this.live;
    // Not on a read from before the claim: the job shows as running once
    // the store says so, never as waiting with a reported progress.
    if (!live || !isRunningStatus(job.status) || job.updatedTime > live.at)
      return job;
    return {
      ...job,
      progress: live.progress,
      statusText: live.statusText(),
      updatedTime: live.at,
    };
  }

  /**
   * Sends a snapshot that shows something new. The write of what a live
   * report already showed differs from it by its time alone: taken in, not
   * sent again.
   */
  private send(snapshot: JobStatusSnapshot, live = false): void {
    const last = this.lastSent;
    const writeOfShown =
      last !== undefined &&
      this.lastSentLive &&
      !live &&
      !changedVisibly(last, { ...snapshot, updatedTime: last.updatedTime });
    if (writeOfShown) {
      this.lastSent = snapshot;
      this.lastSentLive = false;
      return;
    }
    if (last && !changedVisibly(last, snapshot)) return;
    this.lastSent = snapshot;
    this.lastSentLive = live;
    [...this.subscribers].forEach((subscriber) => subscriber.next(snapshot));
  }

  private refresh(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    this.sources.read(this.jobId).then(
      (job) => this.afterRead(() => this.receive(job)),
      (error: unknown) => this.afterRead(() => this.readFailed(error)),
    );
  }

  /**
   * Before the first snapshot, the watchers learn of the failure: there is
   * nothing to show them. After it, they keep what they have and the read
   * is tried again.
   */
  private readFailed(error: unknown): void {
    if (!this.latest)
      return this.abort(
        error instanceof Error ? error : new Error(String(error)),
      );
    this.readOutage.failed(() =>
      this.sources.warn(
        messages.watchReadFailedMessage(this.jobId, error, READ_RETRY_MS),
      ),
    );
    clearTimeout(this.recheck);
    this.recheck = setTimeout(() => this.refresh(), READ_RETRY_MS);
    this.recheck.unref();
  }

  private afterRead(handle: () => void): void {
    this.reading = false;
    if (this.stopped) return;
    handle();
    if (this.readAgain && !this.stopped) {
      this.readAgain = false;
      this.refresh();
    }
  }

  private receive(job: JobRecord | null): void {
    if (!job) return this.abort(this.sources.notFound(this.jobId));
    this.readOutage.ended();
    this.latest = job;
    this.send(this.snapshotOf(this.withLive(job)));
    // The last watcher may have left on that snapshot (take(1)).
    if (this.stopped) return;
    if (isFinalStatus(job.status)) {
      this.stop().forEach((subscriber) => subscriber.complete());
      return;
    }
    this.scheduleRecheck(job);
  }

  private scheduleRecheck(job: JobRecord): void {
    clearTimeout(this.recheck);
    const now = Date.now();
    const stall = stallTime(job, this.sources.errorTimeout);
    const at =
      now < stall
        ? stall
        : lastSignOfLife(job) +
          this.sources.errorTimeout * 1000 +
          TIMEOUT_MARGIN_MS;
    this.recheck = setTimeout(
      () => this.refresh(),
      Math.max(at - now, now < stall ? 0 : MIN_RECHECK_MS),
    );
    // A job being watched is no reason to keep the process alive.
    this.recheck.unref();
  }

  private snapshotOf(job: JobRecord): JobStatusSnapshot {
    const now = Date.now();
    return toJobSnapshot(
      job,
      this.estimator.estimate(job, now),
      isStalled(job, now, this.sources.errorTimeout),
    );
  }

  private leave(subscriber: Subscriber<JobStatusSnapshot>): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.stop();
  }

  /** Releases the ticks and the timer; returns the watchers still there. */
  private stop(): Subscriber<JobStatusSnapshot>[] {
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    if (this.stopped) return subscribers;
    this.stopped = true;
    this.ticks?.unsubscribe();
    this.liveTicks?.unsubscribe();
    clearTimeout(this.recheck);
    this.onStop(this);
    return subscribers;
  }
}

/** Whether a watcher would see a difference (ETA and rate alone do not count). */
function changedVisibly(a: JobStatusSnapshot, b: JobStatusSnapshot): boolean {
  return (
    a.status !== b.status ||
    a.progress !== b.progress ||
    a.stalled !== b.stalled ||
    a.updatedTime.getTime() !== b.updatedTime.getTime() ||
    a.endTime?.getTime() !== b.endTime?.getTime() ||
    a.statusText !== b.statusText
  );
}
