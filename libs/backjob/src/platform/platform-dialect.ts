import type { AbstractHttpAdapter } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chunkToText } from '../flow/output-capture.js';

/**
 * What differs between Express and Fastify, for the little the request flow
 * needs: where the Node request and response are, the path a request was
 * sent to, and how to see every request before the routes. Everything else
 * goes through Nest's own adapter (`HttpAdapterHost.httpAdapter`).
 */
export interface PlatformDialect {
  /** The Node request under the platform's request object. */
  rawRequest(request: object): IncomingMessage;
  /** The Node response under the platform's response object. */
  rawResponse(response: object): ServerResponse;
  /** The URL the request was sent to, query included, before any router cut a prefix off. */
  requestUrl(request: object): string;
  /** Calls `handler` with every request, before the app's routes: see `HttpPlatform.beforeRoutes`. */
  beforeRoutes(adapter: AbstractHttpAdapter, handler: RequestHandler): void;
}

/** Sees a request first; calls `next` to let the app handle it, or answers it itself. */
export type RequestHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
) => void;

/** What a response tap is told of what the route sends. */
export interface AnswerTap {
  /** A chunk written before the end. */
  write(text: string): void;
  /**
   * The response ends, with `text` as its last chunk (often all of it).
   * A promise holds the end back until it settles: what it stores is then
   * done before the answer reaches the caller.
   */
  end(text: string): Promise<void> | undefined;
}

/**
 * Wraps the Node response's `write` and `end` so that each chunk also goes
 * to `tap`. Both platforms end through the Node response: Express's
 * `send()`, Fastify's serialised payload, a piped stream.
 */
export function tapNodeResponse(raw: ServerResponse, tap: AnswerTap): void {
  const write = raw.write;
  const end = raw.end;
  raw.write = function (
    this: ServerResponse,
    chunk: unknown,
    ...rest: unknown[]
  ) {
    tap.write(chunkToText(chunk));
    return (write as (...args: unknown[]) => boolean).call(
      this,
      chunk,
      ...rest,
    );
  } as ServerResponse['write'];
  raw.end = function (
    this: ServerResponse,
    chunk?: unknown,
    ...rest: unknown[]
  ) {
    const endNow = () =>
      (end as (...args: unknown[]) => ServerResponse).call(
        this,
        chunk,
        ...rest,
      );
    const held = tap.end(typeof chunk === 'function' ? '' : chunkToText(chunk));
    if (!held) return endNow();
    // Ends even if what was held failed: an answer is never left open.
    void held.then(endNow, endNow);
    return this;
  } as ServerResponse['end'];
}
