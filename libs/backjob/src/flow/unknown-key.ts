import { ForbiddenException, Logger } from '@nestjs/common';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_UNKNOWN_KEY_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { SelfResponse } from './self-http.client.js';
import type { RequestSigner } from './request-signer.js';

const logger = new Logger(BACKJOB_LOGGER_CONTEXT);

/**
 * Refuses (403) an internal request signed with a key this instance does
 * not have, with a header that lets its sender tell this from any other
 * 403 and name the cause. The log names the key by its id, never the key.
 * Does nothing for any other request.
 */
export function refuseUnknownKey(
  signer: RequestSigner,
  token: unknown,
  setHeader: (name: string, value: string) => void,
): void {
  const keyId = signer.unknownKeyId(token);
  if (keyId === null) return;
  logger.warn(messages.unknownKeyLogMessage(keyId));
  setHeader(BACKJOB_UNKNOWN_KEY_HEADER, keyId);
  throw new ForbiddenException(messages.unknownKeyRefusal());
}

/** The reason a job fails when `response` refused its request for its key, else `null`. */
export function unsharedKeyReason(
  response: SelfResponse,
  phase: 'monitor' | 'worker',
  url: string,
): string | null {
  const keyId = response.headers[BACKJOB_UNKNOWN_KEY_HEADER];
  if (response.status !== 403 || typeof keyId !== 'string') return null;
  return messages.unsharedKeyReason(phase, url, keyId);
}
