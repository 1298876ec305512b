import { Inject, Injectable, RequestMethod } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import { isRouteExcluded } from '@nestjs/core/router/utils/exclude-route.util.js';
import http, {
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { urlToHttpOptions } from 'node:url';
import { BACKJOB_RESOLVED_OPTIONS } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { HttpPlatform } from '../platform/http-platform.js';
import type { InProcessExchange } from '../platform/in-process.exchange.js';
import type { MonitorStop } from './monitor-stop.js';

/** An internal request to the app itself. */
export interface SelfRequest {
  method: string;
  /** Path as the app serves it, global prefix included. */
  path: string;
  query?: string;
  headers: OutgoingHttpHeaders;
  body?: string;
  /** Destroys the request, should it still be under way when the monitor stops. */
  stop?: MonitorStop;
  /** Seconds within which the answer must have begun; then the request fails "no answer in N s". */
  timeoutSeconds?: number;
}

export interface SelfResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, cut at `MAX_RESPONSE_BYTES`. */
  body: string;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Where internal requests go: the base URL, or a Unix socket the app listens on. */
interface SelfTarget {
  /** For messages. */
  baseUrl: string;
  socketPath?: string;
  secure: boolean;
  /** What `http.request()` needs of the base URL, parsed once. */
  connection: Pick<
    http.RequestOptions,
    'protocol' | 'hostname' | 'port' | 'auth'
  >;
  /** The base URL's own path, put before every request's ('' for none). */
  basePath: string;
  /** The Host header a request to the base URL carries. */
  host: string;
}

/**
 * Sends the internal monitor and worker requests to the app itself: in
 * this process, handed to its server with no socket; to `baseUrl`, over
 * keep-alive connections (a loopback request costs ~0.06 ms that way,
 * against ~0.4 ms for `fetch()`).
 */
@Injectable()
export class SelfHttpClient {
  /** Where `baseUrl` points, parsed once; none without it. */
  private readonly baseTarget: SelfTarget | undefined;
  private listening: SelfTarget | undefined;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent: https.Agent;
  private readonly inProcess = new Set<InProcessExchange>();

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly platform: HttpPlatform,
    private readonly appConfig: ApplicationConfig,
  ) {
    this.baseTarget = options.baseUrl
      ? parseTarget(options.baseUrl)
      : undefined;
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: !options.allowSelfSignedCertificates,
    });
  }

  /** The app's global prefix, which every job route is relative to. */
  get globalPrefix(): string {
    return this.appConfig.getGlobalPrefix();
  }

  /**
   * The global prefix of one route: none when the app excludes the route
   * from it (`setGlobalPrefix('api', { exclude })`), matched as Nest does.
   */
  readonly prefixFor = (routePath: string, method: string): string => {
    const exclude = this.appConfig.getGlobalPrefixOptions().exclude ?? [];
    const requestMethod = RequestMethod[method as keyof typeof RequestMethod];
    return exclude.length > 0 &&
      isRouteExcluded(exclude, routePath, requestMethod)
      ? ''
      : this.globalPrefix;
  };

  /**
   * The URL a request goes to, for messages (a long one shortened); the path
   * alone when the app is not listening.
   */
  describeTarget(request: Pick<SelfRequest, 'path' | 'query'>): string {
    const pathAndQuery = shortened(
      `${request.path}${request.query ? `?${request.query}` : ''}`,
    );
    const target = this.target();
    if (!target) return pathAndQuery;
    const url = `${target.baseUrl}${pathAndQuery}`;
    return target.socketPath ? `${url} (socket ${target.socketPath})` : url;
  }

  /**
   * Sends `request` to the app: without `baseUrl`, to its own server in
   * this process, with no socket (see `InProcessServer`); with it, over the
   * network to that address.
   */
  send(request: SelfRequest): Promise<SelfResponse> {
    return this.baseTarget
      ? this.sendOverNetwork(this.baseTarget, request)
      : this.sendInProcess(request);
  }

  private sendInProcess(request: SelfRequest): Promise<SelfResponse> {
    try {
      const listening = this.target();
      const exchange = this.platform.serveInProcess({
        // As a loopback client would: the address in Host, TLS if the
        // server takes it. Before the app listens, as `localhost`.
        host: listening?.host ?? 'localhost',
        secure: listening?.secure ?? false,
        method: request.method,
        url: `${request.path}${request.query ? `?${request.query}` : ''}`,
        headers: this.headersOf(request),
        body: request.body,
        maxBodyBytes: MAX_RESPONSE_BYTES,
      });
      this.inProcess.add(exchange);
      const release = bound(request, (error) => exchange.abort(error));
      const settled = () => {
        this.inProcess.delete(exchange);
        release.answerBegun();
        release.answerRead();
      };
      exchange.answer.then(settled, settled);
      return exchange.answer;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * Sends `request` once more when a kept-alive connection turns out to
   * have been closed by the server as it was reused (ECONNRESET before any
   * answer): the server never read it, and a worker request that did
   * arrive is claimed once anyway.
   */
  private sendOverNetwork(
    target: SelfTarget,
    request: SelfRequest,
    retried = false,
  ): Promise<SelfResponse> {
    return new Promise((resolve, reject) => {
      try {
        const { secure } = target;
        // Options, not a URL: parsing one per request cost a lone job's
        // pickup 15 µs, and the path needs none of its encoding
        // (normalizeJobRequest encodes routes and queries).
        const outgoing = (secure ? https : http).request({
          ...target.connection,
          path: `${target.basePath}${request.path}${request.query ? `?${request.query}` : ''}`,
          method: request.method,
          headers: this.headersOf(request),
          agent: secure ? this.httpsAgent : this.httpAgent,
          socketPath: target.socketPath,
        });
        const release = bound(request, (error) => outgoing.destroy(error));
        outgoing.on('error', (error: NodeJS.ErrnoException) => {
          release.answerBegun();
          release.answerRead();
          if (!retried && outgoing.reusedSocket && error.code === 'ECONNRESET')
            resolve(this.sendOverNetwork(target, request, true));
          else reject(error);
        });
        outgoing.on('response', (response) => {
          release.answerBegun();
          readResponse(response).then(
            (answer) => {
              release.answerRead();
              resolve(answer);
            },
            (error: unknown) => {
              release.answerRead();
              reject(error);
            },
          );
        });
        outgoing.end(request.body);
      } catch (error) {
        // e.g. a header value with CR/LF: Node throws before sending anything.
        reject(error);
      }
    });
  }

  private headersOf(request: SelfRequest): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      ...request.headers,
      'user-agent': this.options.userAgent,
      // BackJob reads these answers itself (a guard's refusal becomes
      // the job's statusText) and decodes no gzip: an app with
      // `compression()`, or a proxy at baseUrl, must answer plainly,
      // whatever Accept-Encoding the caller's forwarded headers carry.
      'accept-encoding': 'identity',
    };
    if (request.body !== undefined)
      headers['content-length'] = Buffer.byteLength(request.body);
    return headers;
  }

  /**
   * Closes the keep-alive connections, and the requests still under way in
   * this process as if theirs had been among them; called last in a
   * shutdown.
   */
  close(): void {
    for (const exchange of this.inProcess)
      exchange.abort(new Error(messages.monitorStoppedReason()));
    this.inProcess.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** `baseUrl`, else where the app listens: none before it does. */
  private target(): SelfTarget | undefined {
    // Where the app listens does not change once it does: asked once, not
    // per request (Server.address() showed in profiles).
    this.listening ??= this.baseTarget ?? this.ownAddress();
    return this.listening;
  }

  private ownAddress(): SelfTarget | undefined {
    const server = this.platform.serverAddress();
    if (!server) return undefined;
    const { address } = server;
    const protocol = server.tls ? 'https' : 'http';
    if (typeof address === 'string')
      return parseTarget(`${protocol}://localhost`, address);
    return parseTarget(
      `${protocol}://${loopbackHost(address)}:${address.port}`,
    );
  }
}

/**
 * Bounds a request by its `timeoutSeconds` (until its answer begins) and
 * its monitor's stop (until its answer is read), each aborting it with why.
 */
function bound(request: SelfRequest, abort: (error: Error) => void) {
  const deadline =
    request.timeoutSeconds === undefined
      ? undefined
      : setTimeout(
          () =>
            abort(new Error(messages.noAnswerMessage(request.timeoutSeconds!))),
          request.timeoutSeconds * 1000,
        );
  // Taken back once the answer is in: its socket may then serve another
  // request. Held on to, it kept this request and its answer from young
  // collections until the monitor's end (docs/benchmarks.md).
  const forgetStop = request.stop?.onStop(() =>
    abort(new Error(messages.monitorStoppedReason())),
  );
  return {
    answerBegun: () => clearTimeout(deadline),
    answerRead: () => forgetStop?.(),
  };
}

function parseTarget(baseUrl: string, socketPath?: string): SelfTarget {
  const url = new URL(baseUrl);
  const { protocol, hostname, port, auth } = urlToHttpOptions(url);
  return {
    baseUrl,
    socketPath,
    secure: protocol === 'https:',
    connection: { protocol, hostname, port, auth },
    basePath: url.pathname === '/' ? '' : url.pathname,
    host: url.host,
  };
}

// Longest path and query a message shows whole: a 20 KB query string
// would bury what the message says in every log line and job text.
const SHOWN_TARGET_LENGTH = 300;

function shortened(pathAndQuery: string): string {
  if (pathAndQuery.length <= SHOWN_TARGET_LENGTH) return pathAndQuery;
  return `${pathAndQuery.slice(0, SHOWN_TARGET_LENGTH - 60)}…${pathAndQuery.slice(-40)} (${pathAndQuery.length} characters)`;
}

// A server listening on every address is reached on loopback.
function loopbackHost({ address, family }: AddressInfo): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return family === 'IPv6' || address.includes(':') ? `[${address}]` : address;
}

function readResponse(response: http.IncomingMessage): Promise<SelfResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size >= MAX_RESPONSE_BYTES) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    response.on('error', reject);
    response.on('end', () =>
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.concat(chunks)
          .subarray(0, MAX_RESPONSE_BYTES)
          .toString('utf8'),
      }),
    );
  });
}
