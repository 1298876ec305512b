import * as messages from '../backjob.messages.js';

/**
 * The error of `watch()` when this instance shuts down before the job
 * ended. The job goes on; watch it again on an instance that runs.
 */
export class JobWatchStoppedError extends Error {
  override name = 'JobWatchStoppedError';

  constructor(readonly jobId: string) {
    super(messages.watchStoppedMessage(jobId));
  }
}
