import { ForbiddenException, Logger } from '@nestjs/common';
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

/**
 * Refuses (403) an internal request signed with a key this instance does
 * not have, with a header that lets its sender tell this from any other
 * 403 and name the cause (`unsharedKeyReason`). Does nothing for any other
 * request. The self-check's ping gets the same answer from its middleware.
 */
export function refuseUnknownKey(
  signer: RequestSigner,
  token: unknown,
  setHeader: (name: string, value: string) => void,
): void {
  const keyId = unknownKeyOf(signer, token);
  if (keyId === null) return;
  setHeader(BACKJOB_UNKNOWN_KEY_HEADER, keyId);
  throw new ForbiddenException(messages.unknownKeyRefusal());
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
