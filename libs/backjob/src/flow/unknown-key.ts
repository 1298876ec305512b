import { Logger } from '@nestjs/common';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_UNKNOWN_KEY_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { SelfResponse } from './self-http.client.js';
import type { InternalPhase, RequestSigner } from './request-signer.js';

const logger = new Logger(BACKJOB_LOGGER_CONTEXT);

/**
 * The key id of an internal request (of `phase`, when given) signed with a
 * key this instance does not have, logged by its id, never the key; `null`
 * for any other request.
 */
export function unknownKeyOf(
  signer: RequestSigner,
  token: unknown,
  phase?: InternalPhase,
): string | null {
  const keyId = signer.unknownKeyId(token, phase);
  if (keyId !== null) logger.warn(messages.unknownKeyLogMessage(keyId));
  return keyId;
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
