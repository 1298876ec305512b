import * as messages from '../backjob.messages.js';

/**
 * The error of `watch()` for an id that no job has (never existed, or
 * deleted by the backlog cleanup).
 */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';

  constructor(readonly jobId: string) {
    super(messages.jobNotFoundMessage(jobId));
  }
}
