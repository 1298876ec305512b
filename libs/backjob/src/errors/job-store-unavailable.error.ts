import * as messages from '../backjob.messages.js';

/**
 * Thrown by `start()`, `getStatus()` and the other calls that reach the job
 * store when the cache is the only store (`useDb: false`) and it fails or
 * does not answer within `cacheTimeout`; by `start()` when the database
 * fails to record its job (`cause` is the driver's error) or does not within
 * `requestTimeout` (that job never runs: check the store, then start it
 * again); and by the reads of jobs (`getStatus()`, `list()`, `counts()`…)
 * when the database fails them (`cause` is the driver's error) or does not
 * answer within `requestTimeout`, the ending of a stale job that a read
 * writes included; by `cancel()`, and `finish()` or `fail()`
 * of another job, when the database fails the ending or does not take it
 * within `requestTimeout` (it may still land: read the job to know).
 * `BackJobExceptionFilter` answers it 503.
 */
export class JobStoreUnavailableError extends Error {
  override name = 'JobStoreUnavailableError';

  constructor(
    cause: unknown,
    message = messages.jobStoreUnavailableMessage(cause),
  ) {
    super(message, { cause });
  }
}
