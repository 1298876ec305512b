import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as messages from '../backjob.messages.js';
import { expressDialect } from './express-dialect.js';
import { fastifyDialect } from './fastify-dialect.js';
import type { PlatformDialect } from './platform-dialect.js';

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
 * platform's (what `switchToHttp()` gives), or in a middleware the Node
 * ones; both are accepted.
 */
@Injectable()
export class HttpPlatform implements OnModuleInit {
  private chosen:
    { adapter: AbstractHttpAdapter; dialect: PlatformDialect } | undefined;

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

  setHeader(response: object, name: string, value: string): void {
    this.adapter.setHeader(response, name, value);
  }

  setStatus(response: object, status: number): void {
    this.adapter.status(response, status);
  }

  headersSent(response: object): boolean {
    return this.adapter.isHeadersSent(response);
  }

  /** Ends the response with `body` as JSON, for handlers that Nest will not answer for (`@Res()`). */
  endWithJson(response: object, status: number, body: object): void {
    this.adapter.setHeader(response, 'content-type', 'application/json');
    this.adapter.reply(response, body, status);
  }

  /**
   * Ends a response before any route ran (in a middleware), with no body.
   * A middleware gets the Node response on Fastify, so this writes to the
   * Node response on both platforms.
   */
  endEarly(
    response: object,
    status: number,
    headers: Record<string, string>,
  ): void {
    const raw = this.dialect.rawResponse(response);
    raw.statusCode = status;
    for (const [name, value] of Object.entries(headers))
      raw.setHeader(name, value);
    raw.end();
  }

  /** See `PlatformDialect.captureWrites`. */
  captureWrites(
    response: object,
    onText: (text: string) => void,
    includeEnd: boolean,
  ): void {
    this.dialect.captureWrites(response, onText, includeEnd);
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

  private get adapter(): AbstractHttpAdapter {
    return this.choose().adapter;
  }

  private get dialect(): PlatformDialect {
    return this.choose().dialect;
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
    return (this.chosen = { adapter, dialect });
  }
}
