import { AsyncResource } from 'node:async_hooks';
import {
  IncomingMessage,
  maxHeaderSize,
  ServerResponse,
  validateHeaderName,
  validateHeaderValue,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import { Duplex } from 'node:stream';

/** A request handed to the app's own server in this process. */
export interface InProcessRequest {
  method: string;
  /** Path and query, as a request line carries them. */
  url: string;
  headers: OutgoingHttpHeaders;
  body?: string;
  /** Whether the server is an https one: the request then reads as one that came over TLS. */
  secure: boolean;
  /** The Host header and the addresses the socket reports. */
  host: string;
  /** Bytes of the answer's body kept; the rest is read and dropped. */
  maxBodyBytes: number;
}

/** What the app answered. */
export interface InProcessAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request under way: its answer, and how to drop it. */
export interface InProcessExchange {
  answer: Promise<InProcessAnswer>;
  /** Closes the request's connection, as a client that gives up does; `answer` rejects with `error`. */
  abort(error: Error): void;
}

/**
 * Hands requests to the app's server as if they had come over a socket,
 * without one: the same `'request'` event, the same middleware, guards,
 * pipes and routes, but no loopback connection to open, no request to
 * write and parse, no answer to parse back. That hop was the largest step of
 * a job's pickup, ~0.2 ms (`npm run bench:probe`), and its two sockets most
 * of a running job's memory.
 */
export class InProcessServer {
  // Made while the module is built, outside any request: each request runs
  // in its async context, as one from a socket would, and not in the
  // context (AsyncLocalStorage stores, tracing spans…) of the code that
  // happened to start the job.
  private readonly root = new AsyncResource('BackJobInProcessRequest');

  /**
   * Throws, as `http.request()` does, for a header name or value that
   * cannot be sent; answers 431, as Node's server does, a request whose
   * line and headers exceed the server's `maxHeaderSize`: a job must not
   * run here that would fail through `baseUrl`.
   */
  exchange(server: Server, request: InProcessRequest): InProcessExchange {
    const head = requestHead(request);
    if (head.bytes > headLimitOf(server))
      return {
        answer: Promise.resolve({
          status: 431,
          headers: { connection: 'close' },
          body: '',
        }),
        abort: () => undefined,
      };
    const socket = new NullSocket(request);
    const incoming = incomingMessage(socket, request, head);
    const response = new ServerResponse(incoming);
    response.assignSocket(socket as never);
    const answer = collectAnswer(incoming, response, socket, request);
    this.root.runInAsyncScope(() =>
      process.nextTick(() => {
        try {
          server.emit('request', incoming, response);
        } catch (error) {
          socket.destroy(error as Error);
        }
      }),
    );
    return { answer, abort: (error) => socket.destroy(error) };
  }
}

/**
 * The connection of one in-process request: what is written to it goes
 * nowhere (the answer is read off the response itself), and it reports the
 * loopback addresses a local client would have.
 */
class NullSocket extends Duplex {
  readonly remoteAddress = '127.0.0.1';
  readonly remoteFamily = 'IPv4';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort: number;
  /** What `req.secure`, `req.protocol` and Fastify's `request.protocol` read. */
  readonly encrypted: boolean;
  /** Why it was closed, when it was closed with an error. */
  closedWith: Error | undefined;

  constructor(request: Pick<InProcessRequest, 'secure' | 'host'>) {
    super();
    this.encrypted = request.secure;
    this.localPort = Number(request.host.split(':').pop()) || 0;
  }

  override _read(): void {}

  // Nobody listens to the socket's 'error': the error is kept for the
  // answer to reject with, and the socket just closes.
  override _destroy(
    error: Error | null,
    callback: (error?: Error | null) => void,
  ): void {
    this.closedWith ??= error ?? undefined;
    callback(null);
  }

  override _write(
    _chunk: unknown,
    _encoding: BufferEncoding,
    callback: () => void,
  ): void {
    callback();
  }

  address() {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

// `http.createServer({ maxHeaderSize })`, else the process's
// (`--max-http-header-size`).
function headLimitOf(server: Server): number {
  return (
    (server as Server & { maxHeaderSize?: number }).maxHeaderSize ??
    maxHeaderSize
  );
}

/** The request's head as Node's parser would hand it over, and its size. */
interface RequestHead {
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  /** The request line and every header line, as the parser counts them against `maxHeaderSize`. */
  bytes: number;
}

/**
 * One pass over the headers: each checked as `http.request()` checks it
 * (it throws for one that cannot be sent), joined as Node's parser joins
 * repeats (cookies with "; ", set-cookie kept a list, the rest with ", "),
 * and counted.
 */
function requestHead(request: InProcessRequest): RequestHead {
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  let bytes = Buffer.byteLength(
    `${request.method} ${request.url} HTTP/1.1\r\n`,
  );
  for (const [name, value] of Object.entries({
    host: request.host,
    ...request.headers,
  })) {
    if (value === undefined) continue;
    validateHeaderName(name);
    const key = name.toLowerCase();
    const values = (Array.isArray(value) ? value : [value]).map(String);
    for (const one of values) {
      validateHeaderValue(name, one);
      rawHeaders.push(name, one);
      bytes += Buffer.byteLength(`${name}: ${one}\r\n`);
    }
    if (key === 'set-cookie') headers[key] = values;
    else headers[key] = values.join(key === 'cookie' ? '; ' : ', ');
  }
  return { headers, rawHeaders, bytes };
}

function incomingMessage(
  socket: NullSocket,
  request: InProcessRequest,
  head: RequestHead,
): IncomingMessage {
  const incoming = new IncomingMessage(socket as never);
  incoming.method = request.method;
  incoming.url = request.url;
  incoming.httpVersion = '1.1';
  incoming.httpVersionMajor = 1;
  incoming.httpVersionMinor = 1;
  incoming.headers = head.headers;
  incoming.rawHeaders = head.rawHeaders;
  if (request.body) incoming.push(Buffer.from(request.body, 'utf8'));
  incoming.push(null);
  incoming.complete = true;
  return incoming;
}

/**
 * Reads the answer off the response as the app writes it: its status, the
 * headers it sent, the body up to `maxBodyBytes`. It settles when the
 * response has finished, or rejects once the connection closes before.
 */
function collectAnswer(
  incoming: IncomingMessage,
  response: ServerResponse,
  socket: NullSocket,
  request: InProcessRequest,
): Promise<InProcessAnswer> {
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (chunk: unknown, encoding: unknown) => {
    if (size >= request.maxBodyBytes || chunk == null) return;
    if (typeof chunk === 'function') return;
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(
            chunk,
            typeof encoding === 'string'
              ? (encoding as BufferEncoding)
              : 'utf8',
          )
        : Buffer.from(chunk as Uint8Array);
    chunks.push(bytes);
    size += bytes.length;
  };
  // Own properties: Express swaps the response's prototype for its own,
  // which would lose methods put on a subclass.
  const { write, end } = response;
  response.write = function (this: ServerResponse, ...args: unknown[]) {
    keep(args[0], args[1]);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as ServerResponse['write'];
  response.end = function (this: ServerResponse, ...args: unknown[]) {
    keep(args[0], args[1]);
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['end'];
  return new Promise((resolve, reject) => {
    response.once('finish', () => {
      resolve({
        status: response.statusCode,
        headers: sentHeaders(response),
        body: Buffer.concat(chunks)
          .subarray(0, request.maxBodyBytes)
          .toString('utf8'),
      });
      // What the server does after an answer: the unread rest of the
      // request is drained, and the request and response close.
      incoming.resume();
      socket.destroy();
    });
    socket.once('close', () => {
      if (response.writableFinished) return;
      // As Node's server does when a client goes away mid-request: the
      // request is destroyed too, so that code waiting on its 'close' or
      // 'aborted' (to stop work nobody will read) hears of it.
      incoming.destroy(hangUp());
      reject(socket.closedWith ?? hangUp());
    });
  });
}

function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

/**
 * The headers as sent, read from the head the response wrote: headers
 * given to `writeHead()` (Fastify's way) are not kept anywhere else.
 */
function sentHeaders(response: ServerResponse): IncomingHttpHeaders {
  const head = (response as unknown as { _header?: string | null })._header;
  const headers: IncomingHttpHeaders = {};
  for (const line of (head ?? '').split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'set-cookie') (headers[name] ??= []).push(value);
    else headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}
