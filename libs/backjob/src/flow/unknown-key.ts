import { Logger } from '@nestjs/common';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_UNKNOWN_KEY_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { SelfResponse } from './self-http.client.js';
import type { InternalPhase, RequestSigner } from './request-signer.js';

// A warning for each of the first refusals of a minute, then one that says
// the rest go unlogged: anyone can send a token that names a made-up key.
const LOGGED_PER_WINDOW = 10;
const WINDOW_MS = 60_000;

/**
 * Finds the requests signed with a key this instance does not have, and
 * logs them by key id, never the key, at most `LOGGED_PER_WINDOW` a minute.
 */
export class UnknownKeyLog {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  private windowStart = -Infinity;
  private logged = 0;
  private unlogged = 0;

  constructor(private readonly signer: RequestSigner) {}

  /** The key id of an internal request (of `phase`, when given) signed with a key this instance lacks; `null` for any other request. */
  keyIdOf(
    token: unknown,
    phase?: InternalPhase,
    now = Date.now(),
  ): string | null {
    const keyId = this.signer.unknownKeyId(token, phase);
    if (keyId !== null) this.refused(keyId, now);
    return keyId;
  }

  private refused(keyId: string, now: number): void {
    if (now - this.windowStart >= WINDOW_MS) {
      if (this.unlogged > 0)
        this.logger.warn(messages.unknownKeysUnloggedMessage(this.unlogged));
      this.windowStart = now;
      this.logged = 0;
      this.unlogged = 0;
    }
    if (this.logged < LOGGED_PER_WINDOW) {
      this.logged++;
      this.logger.warn(messages.unknownKeyLogMessage(keyId));
      if (this.logged === LOGGED_PER_WINDOW)
        this.logger.warn(
          messages.unknownKeysQuietMessage(LOGGED_PER_WINDOW, WINDOW_MS / 1000),
        );
    } else this.unlogged++;
  }
}

/** Why `response` refused a request of `phase`, when it was for its key; else `null`. */
export function unsharedKeyReason(
  response: SelfResponse,
  phase: InternalPhase,
  url: string,
): string | null {
  const keyId = response.headers[BACKJOB_UNKNOWN_KEY_HEADER];
  if (response.status !== 403 || typeof keyId !== 'string') return null;
  return messages.unsharedKeyReason(phase, url, keyId);
}
