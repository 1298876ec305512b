import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * The caller's credentials to pass on to internal requests: only the headers
 * the allow-list names, so that Host, Content-Length, Connection and the like
 * are never forwarded.
 */
export function pickForwardedHeaders(
  headers: IncomingHttpHeaders | undefined,
  allowList: readonly string[],
): OutgoingHttpHeaders {
  const forwarded: OutgoingHttpHeaders = {};
  if (!headers) return forwarded;
  for (const name of allowList) {
    const value = headers[name];
    if (value !== undefined) forwarded[name] = value;
  }
  return forwarded;
}
