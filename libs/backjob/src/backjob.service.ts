import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { BackJobContext } from './backjob.context.js';
import { JobFailedException } from './errors/job-failed.exception.js';
import { JobLauncher } from './flow/job-launcher.js';
import type {
  JobRequest,
  StartJobOptions,
} from './interfaces/job-request.interface.js';
import { JobStatus } from './interfaces/job-status.enum.js';
import type { JobStatusSnapshot } from './interfaces/job-status.interface.js';
import { JobFeedService } from './live/job-feed.service.js';
import { JobMaintenanceService } from './maintenance/job-maintenance.service.js';
import { JobTracker } from './storage/job-tracker.js';

/**
 * The API of BackJob. From any request handler: `start()` a job and read it
 * back (`getStatus()`, `getScope()`, `jobExists()`). From inside a background
 * action, or any service it calls: `update()`, `incrementProgress()`,
 * `write()`, `finish()`, `fail()`, `isWorkerRequest()` — they apply to the job
 * of the current worker request and do nothing outside one.
 */
@Injectable()
export class BackJobService {
  constructor(
    private readonly launcher: JobLauncher,
    private readonly tracker: JobTracker,
    private readonly context: BackJobContext,
    private readonly maintenance: JobMaintenanceService,
    private readonly feed: JobFeedService,
  ) {}

  /**
   * Records a job and starts `request` in the background, as the current
   * user unless `withUserCookies` is false. Resolves with the job id (a
   * random UUID) once a monitor has taken the job; throws
   * `InvalidJobRequestError` for a request that cannot be sent.
   */
  start(request: JobRequest, options?: StartJobOptions): Promise<string> {
    return this.launcher.start(request, options);
  }

  /**
   * The job's public fields, or `null` for an unknown or malformed id. A
   * pending job without an update for `errorTimeout` is failed with
   * "job timeout" as it is read.
   */
  async getStatus(id: string): Promise<JobStatusSnapshot | null> {
    const job = await this.tracker.read(id);
    return job ? this.feed.snapshot(job) : null;
  }

  /**
   * The job's status as it changes: the current snapshot at once, then one
   * per change (progress, output, status, stalled), completing after the
   * final one (Completed or Failed). Errors with `JobNotFoundError` for an
   * unknown id. Changes made in this instance arrive as they are stored;
   * those of other instances over Redis when jobs are in a Redis cache, or
   * within `watchPollInterval`. Unsubscribing releases everything.
   */
  watch(id: string): Observable<JobStatusSnapshot> {
    return this.feed.watch(id);
  }

  /** The scope given to `start()`, or `null` for an unknown job. */
  async getScope(id: string): Promise<string | null> {
    return (await this.tracker.read(id))?.scope ?? null;
  }

  async jobExists(id: string): Promise<boolean> {
    return (await this.tracker.read(id)) !== null;
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
    if (id === undefined || id === run?.jobId) return run?.finish(text);
    await this.tracker.end(id, {
      status: JobStatus.Completed,
      statusText: text ?? '',
      progress: 100,
    });
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
    if (id === undefined || id === run?.jobId)
      throw new JobFailedException(text ?? '');
    return this.tracker
      .end(id, { status: JobStatus.Failed, statusText: text ?? '' })
      .then(() => undefined);
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
}
