import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PlatformDialect } from './platform-dialect.js';

/** The parts of Fastify's request and reply the dialect reads. */
interface FastifyRequestLike {
  raw?: IncomingMessage & { originalUrl?: string };
  url?: string;
}
interface FastifyReplyLike {
  raw: ServerResponse;
}
interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (
      request: { raw: IncomingMessage },
      reply: FastifyReplyLike,
      done: () => void,
    ) => void,
  ): unknown;
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
  // A hook of Fastify's own, not a Nest middleware: that would bring
  // @fastify/middie and its path matching to every request. The context a
  // handler enters here holds through the body parser and the route. The
  // hook returns nothing: Fastify would take a returned promise for an
  // async hook and go on a second time when it settles. `done` goes to the
  // handler as its `next`: both take no argument, and no closure is made
  // per request.
  beforeRoutes: (adapter, handler) =>
    adapter
      .getInstance<FastifyLike>()
      .addHook('onRequest', (request, reply, done) => {
        handler(request.raw, reply.raw, done);
      }),
};
