import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { BACKJOB_TOKEN_HEADER } from '../backjob.constants.js';

// Headers that describe one connection or one body, not the caller: sending
// them again would break or smuggle the internal request. Never forwarded,
// even when the allow-list names them.
const NEVER_FORWARDED = new Set([
  'host',
  'content-length',
  'content-type',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
  BACKJOB_TOKEN_HEADER,
]);

/**
 * The caller's credentials to pass on to internal requests: only the headers
 * the allow-list names.
 */
export function pickForwardedHeaders(
  headers: IncomingHttpHeaders | undefined,
  allowList: readonly string[],
): OutgoingHttpHeaders {
  const forwarded: OutgoingHttpHeaders = {};
  if (!headers) return forwarded;
  for (const name of allowList) {
    if (NEVER_FORWARDED.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) forwarded[name] = value;
  }
  return forwarded;
}
