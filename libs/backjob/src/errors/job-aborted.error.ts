import type { JobStatus } from '../lifecycle/job-lifecycle.js';

/**
 * The reason of `backjob.signal()` when it aborts: the job was cancelled,
 * ended elsewhere (finished or failed by id, timed out), or interrupted by a
 * shutdown. `fetch()`, database drivers and your own loops that take the
 * signal reject with it; the job's status is already stored, and a handler
 * that throws it is not logged as a crash.
 */
export class JobAbortedError extends Error {
  override name = 'JobAbortedError';

  constructor(
    readonly jobId: string,
    /** The status the job ended with. */
    readonly status: JobStatus,
    message: string,
  ) {
    super(message);
  }
}
