/**
 * Thrown by `fail()` inside a background action to end it at once. The
 * module records the job as failed with `text`; it is not logged as a crash.
 * If your code catches errors around `fail()`, rethrow this one.
 */
export class JobFailedException extends Error {
  override name = 'JobFailedException';

  constructor(readonly text: string) {
    super(text || 'The background action called fail().');
  }
}
