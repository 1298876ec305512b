import * as messages from '../backjob.messages.js';

/**
 * Thrown by `start()`, `getStatus()` and the other calls that reach the job
 * store when the cache is the only store (`useDb: false`) and it fails or
 * does not answer within `cacheTimeout`. Nothing can be promised about the
 * job in flight: check the cache server, then retry.
 */
export class JobStoreUnavailableError extends Error {
  override name = 'JobStoreUnavailableError';

  constructor(cause: unknown) {
    super(messages.jobStoreUnavailableMessage(cause), { cause });
  }
}
