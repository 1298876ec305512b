/**
 * Thrown by `start()` when the request cannot become a job (a route outside
 * the app, a method Node cannot send, a delay that is not a number). No job is recorded.
 */
export class InvalidJobRequestError extends Error {
  override name = 'InvalidJobRequestError';
}
