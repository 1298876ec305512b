import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { outsideRequests } from '../backjob.context.js';
import {
  BACKJOB_JOB_STORE,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { JobStoreUnavailableError } from '../errors/job-store-unavailable.error.js';
import { isJobId } from '../lifecycle/job-id.js';
import { capOutput, storableText } from '../lifecycle/output-cap.js';
import { traceJob } from '../flow/job-trace.js';
import {
  appendLine,
  JobStatus,
  isStale,
  staleCutoff,
  staleVerdict,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import {
  JobStore,
  type JobListQuery,
  type JobProgressChange,
  type JobRecord,
  type JobStatusCounts,
} from './job-store.js';
import { CallDeadline } from './call-deadline.js';
import { storeFailure } from './store-failure.js';

const FINAL_WRITE_ATTEMPTS = 4;
// Between the attempts of a run's own ending after the first few.
const PERSISTENT_RETRY_MS = 2000;
// What a final text is cut to when the store refused a longer one: far
// below any packet or row limit of the databases we run on.
const REFUSED_TEXT_BYTES = 64 * 1024;
// Ids written per heartbeat statement, so that a long queue never makes one huge statement.
const TOUCH_BATCH = 500;

/**
 * Progress that a handler of this instance reported, before it is written
 * (writes are at most ten a second): watchers here see it at once.
 */
export interface LiveProgress {
  id: string;
  progress: number;
  /** The text as it would be written; read only by a watcher. */
  statusText: () => string;
  at: number;
}

/** A job that this instance ended, as it was written. */
export interface JobEndedEvent {
  id: string;
  ending: JobEnding;
}

/**
 * Every read and transition of a job goes through here: it keeps hostile ids
 * away from the store, applies the staleness rule as jobs are read, retries
 * final writes through a short database blip and tells the rest of the
 * instance what changed.
 */
@Injectable()
export class JobTracker {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  /** Ids of jobs that changed in this instance, as soon as the write is done. */
  readonly changes = new Subject<string>();
  /** Jobs that this instance ended, as soon as the ending is stored. */
  readonly endings = new Subject<JobEndedEvent>();
  /** Progress reported by this instance's handlers, as they report it. */
  readonly liveProgress = new Subject<LiveProgress>();
  // Jobs whose handler ran here and whose ending is being written (tried
  // again while the database is away): alive, though the row cannot say so.
  private readonly endingsUnderWay = new Set<string>();

  private readonly callerDeadline: CallDeadline;

  constructor(
    @Inject(BACKJOB_JOB_STORE) private readonly store: JobStore,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {
    const seconds = options.requestTimeout;
    this.callerDeadline = new CallDeadline(
      seconds * 1000,
      () =>
        new JobStoreUnavailableError(
          new Error(messages.databaseTimeoutReason(seconds)),
          messages.endingNotRecordedMessage(seconds),
        ),
    );
  }

  /**
   * Records a job, or returns the pending identical one (see
   * `JobStore.insert`) — unless that one is stale and cannot be taken
   * over, which is ended first so that the new request gets a job that will
   * run.
   */
  async insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    const result = await this.store.insert(job);
    if (!result.merged) {
      this.announce(job.id);
      return result;
    }
    const pending = await this.store.find(result.id);
    if (!pending || !(await this.endStaleForCaller(pending))) return result;
    return this.insert(job);
  }

  /**
   * The job, after ending it when it is stale and cannot be taken over (a
   * stale waiting anonymous job is left to the sweep, which takes it).
   * `null` for an unknown or malformed id.
   */
  async read(id: unknown): Promise<JobRecord | null> {
    if (!isJobId(id)) return null;
    const job = await this.store.find(id);
    if (!job || !(await this.endStaleForCaller(job))) return job;
    return this.store.find(id);
  }

  /** Ends a stale job as the lifecycle says; true when it was ended. */
  endIfStale(job: JobRecord): Promise<boolean> {
    const ending = this.staleEnding(job);
    return ending ? this.end(job.id, ending) : Promise.resolve(false);
  }

  /**
   * `endIfStale()` for an app's call that reads the job: bounded as
   * `endForCaller()` is, so that a read does not wait for as long as the
   * ending's write does (another transaction holds the row's lock, or the
   * database hangs between the read and the write).
   */
  private endStaleForCaller(job: JobRecord): Promise<boolean> {
    const ending = this.staleEnding(job);
    return ending ? this.endForCaller(job.id, ending) : Promise.resolve(false);
  }

  /** How the lifecycle ends `job` now, if it is stale and is to be ended. */
  private staleEnding(job: JobRecord): JobEnding | undefined {
    if (!this.isStale(job)) return undefined;
    const verdict = staleVerdict(job);
    return verdict.action === 'end' ? verdict.ending : undefined;
  }

  /** Reads without the staleness rule, for callers that apply it themselves. */
  find(id: string): Promise<JobRecord | null> {
    return this.store.find(id);
  }

  /**
   * The lifecycle's staleness rule, except for a job whose handler's ending
   * this instance is still writing: after an outage longer than what is
   * left of its errorTimeout, its row reads stale, and ending it as timed
   * out would throw away what the handler did a moment before it is stored.
   */
  isStale(job: JobRecord, now = Date.now()): boolean {
    return (
      !this.endingsUnderWay.has(job.id) &&
      isStale(job, now, this.options.errorTimeout)
    );
  }

  async claim(id: string): Promise<boolean> {
    const claimed = await this.store.claim(id, Date.now());
    if (claimed) this.announce(id);
    return claimed;
  }

  /**
   * Tells the instance that a job changed (and how it ended), outside the
   * request that wrote it: a job that an `@OnJobEnd()` listener or an
   * `events()` or `watch()` subscriber starts runs anonymously, whichever
   * request wrote the change (the job's worker, with its user's
   * credentials; the `cancel()` of someone else; none, for a sweep).
   */
  private announce(id: string, ending?: JobEnding): void {
    outsideRequests(() => {
      this.changes.next(id);
      if (ending) this.endings.next({ id, ending });
    });
  }

  /** Progress a handler here reported, to the watchers here, outside its request as `announce()`. */
  reportLive(live: LiveProgress): void {
    outsideRequests(() => this.liveProgress.next(live));
  }

  /** The cap on every text written for a job (`maxOutputBytes`). */
  get maxOutputBytes(): number {
    return this.options.maxOutputBytes;
  }

  async saveProgress(id: string, change: JobProgressChange): Promise<boolean> {
    const capped =
      change.statusText === undefined
        ? change
        : { ...change, statusText: this.storable(change.statusText) };
    const saved = await this.store.saveProgress(id, capped, Date.now());
    if (saved) this.announce(id);
    return saved;
  }

  /**
   * Ends a pending job, retrying a failed write a few times (a job must not
   * stay pending because the database blinked). A long text the store
   * refused (MariaDB's max_allowed_packet) is cut to its head and tail and
   * tried again at once, with the store's reason, so that the job still
   * ends. False when it had ended.
   */
  end(id: string, requested: JobEnding): Promise<boolean> {
    return this.writeEnding(id, requested);
  }

  /**
   * `end()` for an app's call that waits for it (`cancel()`, `finish()` or
   * `fail()` of another job): when the store fails the write or does not
   * answer within `requestTimeout`, it rejects with JobStoreUnavailableError
   * (a write that was sent goes on, and may still land).
   */
  endForCaller(id: string, requested: JobEnding): Promise<boolean> {
    return this.callerDeadline
      .bound(this.end(id, requested))
      .catch((error: unknown) => {
        throw storeFailure(error, messages.endingFailedMessage);
      });
  }

  /**
   * Ends the job of a handler that ran here: its ending is what the action
   * did, which nothing else can give back, so a failed write is tried again
   * until `errorTimeout` has passed (a database failover takes tens of
   * seconds; after errorTimeout the lifecycle counts the job dead anyway),
   * every 2 s after the first few, until `run.signal` aborts (a shutdown
   * interrupts the run, or the job ended elsewhere). Meanwhile this instance
   * does not count the job stale; other instances, which see only its row,
   * may.
   */
  async endOwnRun(
    id: string,
    requested: JobEnding,
    run: AbortableRun,
  ): Promise<boolean> {
    this.endingsUnderWay.add(id);
    try {
      return await this.writeEnding(id, requested, {
        until: Date.now() + this.options.errorTimeout * 1000,
        run,
      });
    } finally {
      this.endingsUnderWay.delete(id);
    }
  }

  private async writeEnding(
    id: string,
    requested: JobEnding,
    persist?: Persistence,
  ): Promise<boolean> {
    let ending = {
      ...requested,
      statusText: this.storable(requested.statusText),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const ended = await this.store.end(id, ending, Date.now());
        if (ended) {
          traceJob(this.logger, () =>
            messages.jobEndedTrace(id, JobStatus[ending.status]),
          );
          this.announce(id, ending);
        }
        return ended;
      } catch (error) {
        const wait = retryWait(attempt);
        if (givesUp(attempt, wait, persist)) {
          this.logger.error(messages.finalWriteFailedMessage(id, error));
          throw error;
        }
        if (Buffer.byteLength(ending.statusText) > REFUSED_TEXT_BYTES) {
          // Only the driver's message: its error also carries the statement's parameters.
          this.logger.warn(messages.longTextRefusedMessage(id, error));
          ending = {
            ...ending,
            statusText: appendLine(
              capOutput(ending.statusText, REFUSED_TEXT_BYTES),
              messages.longTextRefusedReason(error),
            ),
          };
          continue;
        }
        if (attempt === FINAL_WRITE_ATTEMPTS && persist)
          this.logger.warn(
            messages.finalWriteRetryingMessage(
              id,
              error,
              this.options.errorTimeout,
            ),
          );
        await sleep(wait, undefined, { signal: persist?.run.signal }).catch(
          () => undefined,
        );
      }
    }
  }

  private storable(text: string): string {
    return storableText(text, this.options.maxOutputBytes);
  }

  /** Renews the sign of life of jobs waiting in this instance (or releases them). */
  async touchWaiting(ids: readonly string[], time: number): Promise<void> {
    for (let from = 0; from < ids.length; from += TOUCH_BATCH)
      await this.store.touchWaiting(ids.slice(from, from + TOUCH_BATCH), time);
  }

  /** Takes a stale waiting job over for this instance; false when another was first. */
  takeOver(job: JobRecord, now = Date.now()): Promise<boolean> {
    return this.store.takeOver(
      job.id,
      staleCutoff(now, this.options.errorTimeout),
      now,
    );
  }

  /** The stale jobs of every instance, read. */
  async findStale(limit: number, now = Date.now()): Promise<JobRecord[]> {
    const ids = await this.store.findStale(
      staleCutoff(now, this.options.errorTimeout),
      limit,
    );
    const jobs = await Promise.all(ids.map((id) => this.store.find(id)));
    return jobs.filter((job): job is JobRecord => job !== null);
  }

  list(query: JobListQuery): Promise<JobRecord[]> {
    return this.store.list(query);
  }

  counts(scope?: string): Promise<JobStatusCounts> {
    return this.store.counts(scope);
  }

  deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    return rules.length === 0
      ? Promise.resolve(0)
      : this.store.deleteEnded(rules);
  }
}

/** How long a run's own ending is tried (`endOwnRun`). */
interface Persistence {
  until: number;
  run: AbortableRun;
}

/**
 * The run whose ending is written: its signal stops the retries. Read only
 * when a retry waits, so that a run whose ending lands at once never makes
 * one.
 */
export interface AbortableRun {
  readonly signal: AbortSignal;
}

/** The wait after failed attempt `attempt`: 0.2, 0.8 and 3.2 s, then 2 s. */
function retryWait(attempt: number): number {
  return attempt < FINAL_WRITE_ATTEMPTS
    ? 50 * 4 ** attempt
    : PERSISTENT_RETRY_MS;
}

/** Every ending gets the quick attempts; a run's own ending more, within its horizon. */
function givesUp(
  attempt: number,
  wait: number,
  persist: Persistence | undefined,
): boolean {
  if (attempt < FINAL_WRITE_ATTEMPTS) return false;
  return (
    !persist || persist.run.signal.aborted || Date.now() + wait > persist.until
  );
}
