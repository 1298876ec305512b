import type { IncomingMessage, ServerResponse } from 'node:http';
import { chunkToText } from '../flow/output-capture.js';

/**
 * What differs between Express and Fastify, for the little the request flow
 * needs: where the Node request and response are, the path a request was
 * sent to, and how a handler's writes reach the socket. Everything else
 * goes through Nest's own adapter (`HttpAdapterHost.httpAdapter`).
 */
export interface PlatformDialect {
  /** The Node request under the platform's request object. */
  rawRequest(request: object): IncomingMessage;
  /** The Node response under the platform's response object. */
  rawResponse(response: object): ServerResponse;
  /** The URL the request was sent to, query included, before any router cut a prefix off. */
  requestUrl(request: object): string;
  /**
   * Passes what the handler writes to the response to `onText`. The end of
   * the response is read only when `includeEnd` (the handler sends the
   * response itself, `@Res()`); otherwise it carries Nest's serialised return
   * value, which the interceptor captures as a value.
   */
  captureWrites(
    response: object,
    onText: (text: string) => void,
    includeEnd: boolean,
  ): void;
}

/**
 * Wraps the Node response's `write` (and `end`, when `includeEnd`) so that
 * each chunk also goes to `onText`, while `capturing()` holds.
 */
export function teeNodeResponse(
  raw: ServerResponse,
  onText: (text: string) => void,
  includeEnd: boolean,
  capturing: () => boolean = () => true,
): void {
  const write = raw.write;
  const end = raw.end;
  raw.write = function (
    this: ServerResponse,
    chunk: unknown,
    ...rest: unknown[]
  ) {
    if (capturing()) onText(chunkToText(chunk));
    return (write as (...args: unknown[]) => boolean).call(
      this,
      chunk,
      ...rest,
    );
  } as ServerResponse['write'];
  if (!includeEnd) return;
  raw.end = function (
    this: ServerResponse,
    chunk?: unknown,
    ...rest: unknown[]
  ) {
    if (capturing() && typeof chunk !== 'function') onText(chunkToText(chunk));
    return (end as (...args: unknown[]) => ServerResponse).call(
      this,
      chunk,
      ...rest,
    );
  } as ServerResponse['end'];
}
