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

// What Node lets a header value carry: tab, visible ASCII and latin1. A CR
// or LF (which would split the request) or a character above U+00FF makes
// it throw ERR_INVALID_CHAR, which would fail the job at its first request.
const SENDABLE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The caller's credentials to pass on to internal requests: only the headers
 * the allow-list names. A value that cannot be sent (a CR/LF, a character
 * outside latin1; app code may have set it on the request) is dropped and
 * `onDropped` told its name: the job then runs without that header, which
 * at worst runs it as less of the caller, never as someone else.
 */
export function pickForwardedHeaders(
  headers: IncomingHttpHeaders | undefined,
  allowList: readonly string[],
  onDropped: (name: string) => void,
): OutgoingHttpHeaders {
  const forwarded: OutgoingHttpHeaders = {};
  if (!headers) return forwarded;
  for (const name of allowList) {
    if (NEVER_FORWARDED.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.every((v) => SENDABLE_VALUE.test(String(v))))
      forwarded[name] = value;
    else onDropped(name);
  }
  return forwarded;
}

/**
 * True when the request has a header of the allow-list: only then does a
 * `start()` made while handling it have anything to forward.
 */
export function carriesForwardedHeader(
  headers: IncomingHttpHeaders,
  allowList: readonly string[],
): boolean {
  return allowList.some((name) => headers[name] !== undefined);
}
