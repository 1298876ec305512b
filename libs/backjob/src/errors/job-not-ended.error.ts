import * as messages from '../backjob.messages.js';

/** Thrown by `retry()` for a job that is still pending: only an ended job can run again. */
export class JobNotEndedError extends Error {
  override name = 'JobNotEndedError';

  constructor(
    readonly jobId: string,
    status: string,
  ) {
    super(messages.jobStillPendingMessage(jobId, status));
  }
}
