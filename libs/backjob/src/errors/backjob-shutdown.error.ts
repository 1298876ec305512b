/**
 * Thrown by `start()` and `retry()`-like calls once this instance has begun
 * to shut down (or has shut down): it starts no new jobs, so that a deploy
 * can drain it. Start the job on an instance that is running; behind a load
 * balancer, retrying the request does that.
 */
export class BackJobShutdownError extends Error {
  override name = 'BackJobShutdownError';
}
