import type { JobStatus } from '../lifecycle/job-lifecycle.js';

/** What `getStatus()` and `watch()` tell about a job: its public fields only. */
export interface JobStatusSnapshot {
  /** The job id returned by `start()`. */
  id: string;
  /** The `scope` given to `start()` (`''` when none was). */
  scope: string;
  /** 0 to 100. */
  progress: number;
  /** See `JobStatus`. */
  status: JobStatus;
  /** The action's output so far, or the text given to `update()`/`finish()`/`fail()`. */
  statusText: string;
  /** When the job was started, or when its delay ends. */
  startTime: Date;
  /** The last change of progress, output or status. */
  updatedTime: Date;
  /** When it ended (completed, failed or cancelled); `null` while it is pending. */
  endTime: Date | null;
  /**
   * Estimated seconds until the job completes, counted from the moment the
   * snapshot was made (a client counts down from when it received it). `0`
   * once completed; `null` when it cannot be told: waiting to start, no
   * progress measured yet, progress lower than ten seconds before, or failed.
   */
  eta: number | null;
  /**
   * Speed in percentage points of `progress` per second, measured over the
   * last ten seconds of progress updates (since the start for a younger job,
   * or for a single read such as `getStatus()`); for an ended job, the
   * average over its whole run. `null` before anything can be measured.
   */
  rate: number | null;
  /**
   * True while a pending job has had no update for half of `errorTimeout`:
   * a hint that it may be stuck, before it is failed with "job timeout" at
   * the full `errorTimeout`.
   */
  stalled: boolean;
  /**
   * What the handler returned, when JSON can encode it, or the value it
   * gave `setResult()`; `null` while pending and for a job without one.
   * The output stays in `statusText`.
   */
  result: unknown;
  /** The id of the job that `retry()` ran again to make this one, else `null`. */
  retryOf: string | null;
}
