/**
 * Thrown by `list()` and `counts()` for options they cannot use (a limit
 * out of range, an unknown status, a cursor they did not make). Nothing is read.
 */
export class InvalidJobQueryError extends Error {
  override name = 'InvalidJobQueryError';
}
