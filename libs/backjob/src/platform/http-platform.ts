import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as messages from '../backjob.messages.js';
import { expressDialect } from './express-dialect.js';
import { fastifyDialect } from './fastify-dialect.js';
import {
  InProcessServer,
  type InProcessExchange,
  type InProcessRequest,
} from './in-process.exchange.js';
import {
  tapNodeResponse,
  type AnswerTap,
  type PlatformDialect,
  type RequestHandler,
} from './platform-dialect.js';

const DIALECTS: Record<string, PlatformDialect> = {
  express: expressDialect,
  fastify: fastifyDialect,
};

/** Where the app's own server listens. */
export interface ServerAddress {
  /** A port on an address, or the path of a Unix socket. */
  address: AddressInfo | string;
  tls: boolean;
}

/**
 * The one seam between BackJob's request flow and the HTTP platform
 * (Express or Fastify): every read and write of a request, a response or
 * the app's server goes through here, so that the flow never calls a
 * method of a platform's own objects. Requests and responses are the
 * Node ones (what `beforeRoutes` hands its handler), or the platform's (what
 * `switchToHttp()` gives); both are accepted.
 */
@Injectable()
export class HttpPlatform implements OnModuleInit {
  private chosen: PlatformDialect | undefined;
  private readonly inProcess = new InProcessServer();

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** An app on a platform BackJob cannot serve fails to start, rather than answer every request with 500. */
  onModuleInit(): void {
    if (this.adapterHost.httpAdapter) this.choose();
  }

  /** The path a request was sent to, without its query: global prefix included. */
  requestPath(request: object): string {
    const url = this.dialect.requestUrl(request);
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }

  requestMethod(request: object): string {
    return this.dialect.rawRequest(request).method ?? '';
  }

  requestHeaders(request: object): IncomingHttpHeaders {
    return this.dialect.rawRequest(request).headers;
  }

  /** Closes the request's connection at once, answered or not. */
  dropConnection(request: object): void {
    this.dialect.rawRequest(request).socket?.destroy();
  }

  /**
   * Sets a header of a response not yet sent. On the Node response: the
   * handler before the routes has no other, and a platform's reply merges
   * it when it sends.
   */
  setHeader(response: object, name: string, value: string): void {
    const raw = this.dialect.rawResponse(response);
    if (!raw.headersSent) raw.setHeader(name, value);
  }

  /** The status the response has (or is about to be sent with). */
  responseStatus(response: object): number {
    return this.dialect.rawResponse(response).statusCode;
  }

  /**
   * Ends a response before any route ran (from the handler before the
   * routes), with `body` as JSON when given.
   */
  endEarly(
    response: object,
    status: number,
    headers: Record<string, string>,
    body?: object,
  ): void {
    const raw = this.dialect.rawResponse(response);
    raw.statusCode = status;
    for (const [name, value] of Object.entries(headers))
      raw.setHeader(name, value);
    if (body === undefined) return void raw.end();
    raw.setHeader('content-type', 'application/json; charset=utf-8');
    raw.end(JSON.stringify(body));
  }

  /**
   * Has `handler` see every request of the app first, before its routes
   * and the middleware of its modules (after Express's body parsers, before
   * Fastify's). Call it from a module's `configure()`: Nest registers the
   * routes right after.
   */
  beforeRoutes(handler: RequestHandler): void {
    this.dialect.beforeRoutes(this.adapterHost.httpAdapter, handler);
  }

  /** See `tapNodeResponse`. */
  tapAnswer(response: object, tap: AnswerTap): void {
    tapNodeResponse(this.dialect.rawResponse(response), tap);
  }

  /** Hands a request to the app's own server in this process (see `InProcessServer`). */
  serveInProcess(request: InProcessRequest): InProcessExchange {
    const server = this.server();
    if (!server) throw new Error(messages.noHttpServerMessage());
    return this.inProcess.exchange(server, request);
  }

  /** True once the app's server listens; false without an HTTP server (a bare application context). */
  isListening(): boolean {
    return this.server()?.listening ?? false;
  }

  /** Calls `callback` when the server listens: now, if it does. Never, without an HTTP server. */
  whenListening(callback: () => void): void {
    const server = this.server();
    if (!server) return;
    if (server.listening) callback();
    else server.once('listening', callback);
  }

  /** Where the app listens, or null before it does. */
  serverAddress(): ServerAddress | null {
    const server = this.server();
    const address = server?.address();
    if (!server || !address) return null;
    // An https server (or a TLS one of http2) can take SNI contexts.
    const tls =
      typeof (server as unknown as { addContext?: unknown }).addContext ===
      'function';
    return { address, tls };
  }

  private server(): Server | undefined {
    return this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
  }

  private get dialect(): PlatformDialect {
    return this.choose();
  }

  // Chosen at init or the first request, not at construction: in a testing
  // module the adapter arrives with createNestApplication(), after the
  // providers.
  private choose() {
    if (this.chosen) return this.chosen;
    const adapter = this.adapterHost.httpAdapter;
    const type = adapter?.getType();
    const dialect = DIALECTS[type];
    if (!dialect)
      throw new Error(messages.unsupportedPlatformMessage(String(type)));
    return (this.chosen = dialect);
  }
}
