import type { IncomingMessage, ServerResponse } from 'node:http';
import { valueToText } from '../flow/output-capture.js';
import { teeNodeResponse, type PlatformDialect } from './platform-dialect.js';

/** The parts of Fastify's request and reply the dialect reads. */
interface FastifyRequestLike {
  raw?: IncomingMessage & { originalUrl?: string };
  url?: string;
}
interface FastifyReplyLike {
  raw: ServerResponse;
  send(payload?: unknown): unknown;
}

/**
 * Fastify wraps the Node request and response (`request.raw`,
 * `reply.raw`). Nest's middleware gets the Node objects themselves, so
 * either is accepted.
 */
export const fastifyDialect: PlatformDialect = {
  rawRequest: (request) =>
    (request as FastifyRequestLike).raw ?? (request as IncomingMessage),
  rawResponse: (response) =>
    (response as Partial<FastifyReplyLike>).raw ?? (response as ServerResponse),
  requestUrl: (request) => {
    const raw = fastifyDialect.rawRequest(request) as IncomingMessage & {
      originalUrl?: string;
    };
    return (
      raw.originalUrl ?? raw.url ?? (request as FastifyRequestLike).url ?? ''
    );
  },
  captureWrites: (response, onText, includeEnd) => {
    const reply = response as FastifyReplyLike;
    // Once `reply.send()` is called, what reaches the Node response is
    // Fastify's serialisation of its payload: the payload itself is the
    // output (of a `@Res()` handler), or Nest's return value, captured by
    // the interceptor. Before it, writes to `reply.raw` are the handler's.
    let sending = false;
    const send = reply.send;
    reply.send = function (this: FastifyReplyLike, payload?: unknown) {
      if (!sending && includeEnd) onText(valueToText(payload));
      sending = true;
      return send.call(this, payload);
    };
    teeNodeResponse(reply.raw, onText, includeEnd, () => !sending);
  },
};
