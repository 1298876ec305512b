import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { BackJobContext } from './backjob.context.js';
import * as messages from './backjob.messages.js';
import { JobFailedException } from './errors/job-failed.exception.js';
import { JobLauncher } from './flow/job-launcher.js';
import { JobQueue } from './flow/job-queue.js';
import type {
  JobRequest,
  StartJobOptions,
} from './interfaces/job-request.interface.js';
import {
  ALL_STATUSES,
  isFinalStatus,
  JobEndings,
  JobStatus,
  type JobEnding,
} from './lifecycle/job-lifecycle.js';
import type {
  JobCounts,
  JobList,
  JobListOptions,
  RetryJobOptions,
} from './interfaces/job-list.interface.js';
import { JobEndStream } from './endings/job-end.stream.js';
import { JobNotEndedError } from './errors/job-not-ended.error.js';
import { JobNotFoundError } from './errors/job-not-found.error.js';
import { checkListScope, toListQuery, toPage } from './feed/job-list.query.js';
import type { JobStatusSnapshot } from './interfaces/job-status.interface.js';
import { JobFeedService } from './feed/job-feed.service.js';
import { JobMaintenanceService } from './maintenance/job-maintenance.service.js';
import { JobTracker } from './storage/job-tracker.js';
import { canonicalJobId } from './lifecycle/job-id.js';

/**
 * The API of BackJob. From any request handler: `start()` a job and read it
 * back (`getStatus()`, `getScope()`, `jobExists()`). From inside a background
 * action, or any service it calls: `update()`, `incrementProgress()`,
 * `write()`, `finish()`, `fail()`, `signal()`, `isWorkerRequest()` — they
 * apply to the job of the current worker request and do nothing outside one.
 * From anywhere, on any instance: `cancel(id)`, `retry(id)`, `list()`,
 * `counts()`, `events()`.
 */
@Injectable()
export class BackJobService {
  constructor(
    private readonly launcher: JobLauncher,
    private readonly tracker: JobTracker,
    private readonly context: BackJobContext,
    private readonly maintenance: JobMaintenanceService,
    private readonly feed: JobFeedService,
    private readonly queue: JobQueue,
    private readonly endings: JobEndStream,
  ) {}

  /**
   * Records a job and starts `request` in the background, as the current
   * user unless `withUserCookies` is false. Resolves with the job id (a
   * UUID version 7, in time order and unguessable) once the job is
   * recorded and handed to its monitor, which runs it when a slot of
   * `maxConcurrentJobs` is free (and its delay is over). Throws
   * `InvalidJobRequestError` for a request that cannot be sent,
   * `BackJobShutdownError` once the app has begun to shut down,
   * `JobStoreUnavailableError` when the store cannot record the job (the
   * driver's error is its `cause`) or does not in time (`requestTimeout` for
   * the database, `cacheTimeout` for the cache alone).
   */
  start(request: JobRequest, options?: StartJobOptions): Promise<string> {
    return this.launcher.start(request, options);
  }

  /**
   * The job's public fields, or `null` for an unknown or malformed id. A
   * pending job without an update for `errorTimeout` is failed with
   * "job timeout" as it is read. Rejects with `JobStoreUnavailableError`
   * when the store cannot be read, or that ending recorded, within
   * `requestTimeout`.
   */
  async getStatus(id: string): Promise<JobStatusSnapshot | null> {
    const job = await this.tracker.read(canonicalJobId(id));
    return job ? this.feed.snapshot(job) : null;
  }

  /**
   * The job's status as it changes: the current snapshot at once, then one
   * per change (progress, output, status, stalled), completing after the
   * final one (Completed, Failed or Cancelled). Errors with `JobNotFoundError` for an
   * unknown id. Changes made in this instance arrive as they are stored;
   * those of other instances over Redis when jobs are in a Redis cache, or
   * within `watchPollInterval`. Unsubscribing releases everything.
   */
  watch(id: string): Observable<JobStatusSnapshot> {
    return this.feed.watch(canonicalJobId(id));
  }

  /** The scope given to `start()`, or `null` for an unknown job. */
  async getScope(id: string): Promise<string | null> {
    return (await this.tracker.read(canonicalJobId(id)))?.scope ?? null;
  }

  async jobExists(id: string): Promise<boolean> {
    return (await this.tracker.read(canonicalJobId(id))) !== null;
  }

  /**
   * Stores the progress (clamped to 0–100) and the output so far, or `text`
   * in place of the output. Never waits for the store.
   */
  update(progress?: number, text?: string): void {
    this.context.jobRun?.update(progress, text);
  }

  /** `update()` with the progress raised by `amount`. */
  incrementProgress(amount: number, text?: string): void {
    this.context.jobRun?.incrementProgress(amount, text);
  }

  /** Appends `text` to the job's output (the original's `echo`). */
  write(text: string): void {
    this.context.jobRun?.write(text);
  }

  /**
   * Completes the current job now, with `text` or the output so far; or,
   * given an `id`, that job.
   */
  async finish(text?: string, id?: string): Promise<void> {
    const run = this.context.jobRun;
    const jobId = canonicalJobId(id);
    if (jobId === undefined || jobId === run?.jobId) return run?.finish(text);
    await this.endById(jobId, () => JobEndings.completed(text ?? ''));
  }

  /**
   * Fails the current job with its output and `text`, and ends the action at
   * once (it throws `JobFailedException`, which the module turns into a failed
   * job). Given the `id` of another job, fails that one and returns.
   */
  fail(text?: string): never;
  fail(text: string | undefined, id: string): Promise<void>;
  fail(text?: string, id?: string): Promise<void> {
    const run = this.context.jobRun;
    const jobId = canonicalJobId(id);
    if (jobId === undefined || jobId === run?.jobId)
      throw new JobFailedException(text ?? '');
    return this.endById(jobId, () => JobEndings.failed('', text ?? '')).then(
      () => undefined,
    );
  }

  /**
   * Cancels a pending job, from any instance: it ends as
   * `JobStatus.Cancelled` at once, with `reason` in its text. A waiting job
   * never starts; a running one's `signal()` aborts (within a second, on
   * whichever instance runs it), and whatever its handler writes afterwards
   * is ignored. Resolves `true` when this call ended the job, `false` for a
   * job that had ended already or does not exist. Rejects with
   * `JobStoreUnavailableError` when the store fails the write or does not
   * take it within `requestTimeout` (so do `finish()` and `fail()` given
   * another job's id); a write that was sent may still land.
   */
  async cancel(id: string, reason?: string): Promise<boolean> {
    const why = reason === undefined ? undefined : cancelReason(reason);
    const jobId = canonicalJobId(id);
    const cancelled = await this.endById(jobId, (output) =>
      JobEndings.cancelled(output, why),
    );
    if (cancelled) this.queue.forget(jobId);
    return cancelled;
  }

  /**
   * The `AbortSignal` of the current job: it aborts, with a
   * `JobAbortedError` as its reason, when the job is cancelled, ended by
   * another request, or interrupted by a shutdown. Pass it to `fetch()`, a
   * query or a loop. Outside a job, a signal that never aborts.
   */
  signal(): AbortSignal {
    // A new one each time outside a job: listeners added to one shared
    // signal would pile up for the life of the process.
    return this.context.jobRun?.signal ?? new AbortController().signal;
  }

  /**
   * A page of jobs, newest first (by start time), as snapshots: in one
   * `scope` (how an app shows a user their own jobs) or all, with one
   * status or several, `limit` per page (default 20, at most 100). Pass
   * the page's `cursor` for the next one; it is absent on the last page.
   * Throws `InvalidJobQueryError` for options it cannot use.
   */
  async list(options?: JobListOptions): Promise<JobList> {
    const query = toListQuery(options);
    const page = toPage(await this.tracker.list(query), query);
    const now = Date.now();
    return {
      jobs: page.jobs.map((job) => this.feed.snapshot(job, now)),
      ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
    };
  }

  /** How many jobs have each status, in `scope` or in all: `counts[JobStatus.Failed]`. */
  async counts(options: { scope?: string } = {}): Promise<JobCounts> {
    const counts = await this.tracker.counts(checkListScope(options.scope));
    return Object.fromEntries(
      ALL_STATUSES.map((status) => [status, counts[status] ?? 0]),
    ) as JobCounts;
  }

  /**
   * The final snapshot of every job as it ends: those this instance ended
   * and, when jobs live in a shared Redis (`useCache` with @keyv/redis),
   * those of other instances. For side effects that must happen once per
   * job, use `@OnJobEnd()`: it hears only the endings this instance wrote.
   * An rxjs subscriber that throws is rxjs's to report: catch in it.
   */
  events(): Observable<JobStatusSnapshot> {
    return this.endings.everywhere;
  }

  /**
   * Runs an ended job's request again as a new job, linked to it
   * (`retryOf`), in its scope, as the caller of `retry()` unless
   * `withUserCookies` is false (credentials are never stored). Resolves
   * with the new id. Throws `JobNotFoundError` for an unknown job,
   * `JobNotEndedError` for one still pending.
   */
  async retry(id: string, options: RetryJobOptions = {}): Promise<string> {
    const job = await this.tracker.read(canonicalJobId(id));
    if (!job) throw new JobNotFoundError(String(id));
    if (!isFinalStatus(job.status))
      throw new JobNotEndedError(job.id, JobStatus[job.status]);
    return this.launcher.restart(job, options.withUserCookies);
  }

  /**
   * Sets the current job's result, stored with its ending in place of what
   * the handler returns (for handlers that answer with `@Res()`, or that
   * fail with a partial result). Throws for a value JSON cannot encode or
   * larger than `maxOutputBytes`. Does nothing outside a job.
   */
  setResult(value: unknown): void {
    this.context.jobRun?.setResult(value);
  }

  /**
   * Runs the backlog cleanup now, as its schedule would: deletes completed
   * jobs older than `backlogDays` and finished jobs older than
   * `allBacklogDays`. Resolves with how many jobs were deleted.
   */
  cleanup(): Promise<number> {
    return this.maintenance.cleanup();
  }

  /** True inside a verified worker request, i.e. while running as a job. */
  isWorkerRequest(): boolean {
    return this.context.jobRun !== undefined;
  }

  /** The id of the job this worker request runs, or `undefined`. */
  currentJobId(): string | undefined {
    return this.context.jobRun?.jobId;
  }

  /** Ends a pending job given its output so far; false when it had ended or does not exist. */
  private async endById(
    id: string,
    ending: (output: string) => JobEnding,
  ): Promise<boolean> {
    const job = await this.tracker.read(id);
    if (!job || isFinalStatus(job.status)) return false;
    return this.tracker.endForCaller(job.id, ending(job.statusText));
  }
}

const MAX_CANCEL_REASON = 1000;

/** The reason as the job's output says it: text, cut with an ellipsis past 1,000 characters. */
function cancelReason(reason: unknown): string {
  const text = messages.describeValue(reason);
  return text.length > MAX_CANCEL_REASON
    ? `${text.slice(0, MAX_CANCEL_REASON)}…`
    : text;
}
