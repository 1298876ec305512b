import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import * as messages from '../backjob.messages.js';
import {
  isFinalStatus,
  JobEndings,
  type JobEnding,
} from '../lifecycle/job-lifecycle.js';
import { JobChangeRelay } from '../feed/job-change.relay.js';
import { JobTracker, type LiveProgress } from '../storage/job-tracker.js';
import { JobRun } from './job-run.js';
import { ProgressTicker } from './progress-ticker.js';
import type { ShutdownWriteBound } from './job-queue.js';

// A class, not an object literal: V8 may allocate a literal's objects
// straight into the old generation once most of them outlived a young
// collection (a burst's do), and an old entry keeps its worker request
// from young collections after the job (docs/benchmarks.md, peak RSS).
class RunningJob {
  settled = false;

  constructor(
    readonly run: JobRun,
    /** Lets go of the worker request, so that a shutdown is not held by it. */
    readonly release: () => void,
    /** Changes made to the job by other instances. */
    readonly remote: Subscription,
  ) {}
}

/** What a drain did. */
export interface DrainResult {
  /** Handlers that ended by themselves within the grace period. */
  drained: number;
  /** Handlers still running when it was over: failed "interrupted by shutdown". */
  interrupted: number;
  /** The jobs of both. */
  jobIds: Set<string>;
  /** Interrupted jobs whose ending the store did not take (in time). */
  unrecorded: number;
}

/**
 * The handlers running in this instance. Each one's signal aborts as soon as
 * its job ends without it: at once when this instance ended it (a cancel,
 * `fail(text, id)`, a timeout, a shutdown), and when another instance did,
 * as soon as its change arrives (Redis push, or polling every
 * `watchPollInterval`).
 */
@Injectable()
export class RunningJobs implements OnApplicationShutdown {
  private readonly runs = new Map<string, RunningJob>();
  private readonly endings: Subscription;
  private readonly progressTicker = new ProgressTicker();

  constructor(
    private readonly tracker: JobTracker,
    private readonly relay: JobChangeRelay,
  ) {
    this.endings = tracker.endings.subscribe(({ id, ending }) =>
      this.endedElsewhere(id, ending),
    );
  }

  /** How many handlers run here now. */
  get size(): number {
    return this.runs.size;
  }

  /** What the handler of `jobId` reported here and has not written yet, if it runs here. */
  unwrittenProgress(jobId: string): LiveProgress | undefined {
    return this.runs.get(jobId)?.run.unwrittenProgress();
  }

  /** Starts the run of a claimed job; `release` drops its worker request. */
  start(jobId: string, release: () => void): JobRun {
    const run = new JobRun(
      jobId,
      this.tracker,
      this.progressTicker,
      () => void this.check(jobId),
    );
    const entry = new RunningJob(
      run,
      release,
      this.relay.remoteChanges(jobId).subscribe(() => void this.check(jobId)),
    );
    this.runs.set(jobId, entry);
    void run.done.then(() => {
      entry.settled = true;
      entry.remote.unsubscribe();
      this.runs.delete(jobId);
    });
    return run;
  }

  /**
   * Waits up to `graceMs` for the running handlers, then fails those still
   * running with "interrupted by shutdown", aborts their signals and lets
   * go of their requests.
   */
  async drain(
    graceMs: number,
    bound: ShutdownWriteBound,
  ): Promise<DrainResult> {
    const entries = [...this.runs.values()];
    const jobIds = new Set(entries.map((entry) => entry.run.jobId));
    if (entries.length === 0)
      return { drained: 0, interrupted: 0, jobIds, unrecorded: 0 };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(entries.map((entry) => entry.run.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    const left = entries.filter((entry) => !entry.settled);
    const recorded = await Promise.all(
      left.map((entry) => this.interrupt(entry, bound)),
    );
    return {
      drained: entries.length - left.length,
      interrupted: left.length,
      jobIds,
      unrecorded: recorded.filter((written) => !written).length,
    };
  }

  // After the drain: a job cancelled during the grace period still aborts
  // its handler here.
  onApplicationShutdown(): void {
    this.endings.unsubscribe();
  }

  /** True when the store took the ending; the handler is stopped either way. */
  private async interrupt(
    entry: RunningJob,
    bound: ShutdownWriteBound,
  ): Promise<boolean> {
    const ending = JobEndings.interrupted(entry.run.finalText());
    try {
      await bound(this.tracker.end(entry.run.jobId, ending));
      return true;
    } catch {
      return false;
    } finally {
      this.abort(entry.run, ending);
      entry.release();
    }
  }

  private endedElsewhere(id: string, ending: JobEnding): void {
    const entry = this.runs.get(id);
    if (entry && !entry.run.hasEnded) this.abort(entry.run, ending);
  }

  private async check(id: string): Promise<void> {
    const entry = this.runs.get(id);
    if (!entry || entry.run.abortedWith) return;
    const job = await this.tracker.find(id).catch(() => null);
    if (job && isFinalStatus(job.status))
      this.abort(entry.run, { status: job.status, statusText: job.statusText });
  }

  private abort(run: JobRun, ending: JobEnding): void {
    const why =
      ending.statusText.split('\n').pop() || messages.endedElsewhereReason();
    run.abort(ending.status, messages.jobAbortedMessage(run.jobId, why));
  }
}
