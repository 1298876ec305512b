import { createServer, type RequestListener, type Server } from 'node:http';
import {
  InProcessServer,
  type InProcessRequest,
} from './in-process.exchange.js';

const request = (more: Partial<InProcessRequest> = {}): InProcessRequest => ({
  method: 'POST',
  url: '/reports?x=1',
  headers: { 'content-type': 'application/json', 'content-length': 7 },
  body: '{"a":1}',
  secure: false,
  host: '127.0.0.1:3000',
  maxBodyBytes: 1024,
  ...more,
});

// A server that never listens: the requests reach its 'request' listener
// all the same.
const serving = (listener: RequestListener, options = {}): Server =>
  createServer(options, listener);

describe('InProcessServer', () => {
  const inProcess = new InProcessServer();

  it('hands the server a request as from loopback, body included, and reads back the status, the headers as sent and the body', async () => {
    const server = serving((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(201, { 'x-seen': `${req.method} ${req.url}` });
        res.write(
          JSON.stringify({
            body,
            host: req.headers.host,
            type: req.headers['content-type'],
            remote: req.socket.remoteAddress,
          }),
        );
        res.end(Buffer.from('!'));
      });
    });
    const answer = await inProcess.exchange(server, request()).answer;
    expect(answer.status).toBe(201);
    expect(answer.headers['x-seen']).toBe('POST /reports?x=1');
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(answer.body).toBe(
      `${JSON.stringify({ body: '{"a":1}', host: '127.0.0.1:3000', type: 'application/json', remote: '127.0.0.1' })}!`,
    );
  });

  it('keeps maxBodyBytes of a longer answer', async () => {
    const server = serving((_req, res) => res.end('x'.repeat(5000)));
    const answer = await inProcess.exchange(
      server,
      request({ maxBodyBytes: 100 }),
    ).answer;
    expect(answer.body).toBe('x'.repeat(100));
  });

  it('closes the request when aborted: the app sees its request and response close, the answer rejects with the reason', async () => {
    const closed: string[] = [];
    let bothClosed!: () => void;
    const sawClose = new Promise<void>((resolve) => (bothClosed = resolve));
    const seen = (what: string) => () => {
      closed.push(what);
      if (closed.length === 2) bothClosed();
    };
    const server = serving((req, res) => {
      req.on('close', seen('request'));
      res.on('close', seen('response'));
    });
    const exchange = inProcess.exchange(server, request());
    await new Promise((resolve) => setImmediate(resolve));
    exchange.abort(new Error('the monitor stopped'));
    await expect(exchange.answer).rejects.toThrow('the monitor stopped');
    await sawClose;
    expect(closed.sort()).toEqual(['request', 'response']);
  });

  it('rejects as a hang-up when the app drops the connection before it answers', async () => {
    const server = serving((req) => req.socket.destroy());
    await expect(inProcess.exchange(server, request()).answer).rejects.toThrow(
      expect.objectContaining({ code: 'ECONNRESET' }),
    );
  });

  it('answers 431 without running the app, as Node does, when the request line and headers pass maxHeaderSize', async () => {
    let ran = false;
    const server = serving(() => (ran = true), { maxHeaderSize: 1000 });
    const answer = await inProcess.exchange(
      server,
      request({ url: `/reports?q=${'y'.repeat(1000)}` }),
    ).answer;
    expect(answer.status).toBe(431);
    expect(ran).toBe(false);
  });

  it('refuses, as http.request() does, a header that could not be sent', () => {
    const server = serving(() => undefined);
    expect(() =>
      inProcess.exchange(
        server,
        request({ headers: { 'x-bad': 'one\r\ntwo: injected' } }),
      ),
    ).toThrow(/Invalid character in header content/);
  });
});
