import { JobStoreUnavailableError } from '../errors/job-store-unavailable.error.js';

/**
 * What a call into the store rejects with: the driver's `error` (refused,
 * reset, locked, full) as the one error its caller can expect, with the
 * driver's as its `cause` and `message(error)` saying what to do; an error
 * that already is one (a deadline's) as it is.
 */
export function storeFailure(
  error: unknown,
  message: (error: unknown) => string,
): JobStoreUnavailableError {
  return error instanceof JobStoreUnavailableError
    ? error
    : new JobStoreUnavailableError(error, message(error));
}
