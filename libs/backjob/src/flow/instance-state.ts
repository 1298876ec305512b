import { Injectable } from '@nestjs/common';
import * as messages from '../backjob.messages.js';
import { BackJobShutdownError } from '../errors/backjob-shutdown.error.js';

/**
 * Whether this instance still takes new jobs. It stops for good once a
 * shutdown begins, so that a deploy drains it, and stays stopped after
 * `app.close()`: a late `start()` gets the same clear error, never a driver's.
 */
@Injectable()
export class InstanceState {
  private stopping = false;

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Marks the shutdown; false when it had begun already. */
  beginShutdown(): boolean {
    if (this.stopping) return false;
    this.stopping = true;
    return true;
  }

  /** Throws `BackJobShutdownError` once the shutdown has begun. */
  assertRunning(): void {
    if (this.stopping)
      throw new BackJobShutdownError(messages.shuttingDownMessage());
  }
}
