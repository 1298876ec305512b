/**
 * `call`, or a rejection with `timeoutError()` once `timeoutMs` have passed
 * without an answer. The call goes on: whoever needs to know how it ended
 * keeps its own promise (a late rejection is taken here, not left unhandled).
 */
export function withinDeadline<T>(
  call: Promise<T>,
  timeoutMs: number,
  timeoutError: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(timeoutError()), timeoutMs);
    call.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
