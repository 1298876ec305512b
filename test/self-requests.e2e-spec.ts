import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Socket,
} from 'node:net';
import { BackgroundWorker, JobStatus } from 'nestjs-backjob';
import { SelfCheckService } from '../libs/backjob/src/flow/self-check.service.js';
import { InstanceState } from '../libs/backjob/src/flow/instance-state.js';
import { RecordingLogger } from './fixtures/boot.js';
import { createTestApp, waitForJob } from './fixtures/test-app.js';
import { sleep } from './fixtures/work.controller.js';

/** Stands for an app's own request context (nestjs-cls, tracing…). */
const callerContext = new AsyncLocalStorage<string>();

@Controller('where')
class WhereController {
  @Get()
  @BackgroundWorker()
  where(@Req() req: Request) {
    return {
      // Express's req.secure is Express's alone; both platforms have protocol.
      secure: req.protocol === 'https',
      host: req.headers.host,
      port: req.socket.localPort,
      remote: req.socket.remoteAddress,
      context: callerContext.getStore() ?? null,
    };
  }
}

const tls = {
  key: readFileSync(new URL('./fixtures/tls/localhost.key', import.meta.url)),
  cert: readFileSync(new URL('./fixtures/tls/localhost.crt', import.meta.url)),
};

/** A reverse proxy that serves the app under /app, the way a load balancer with a path prefix would. */
async function startPrefixProxy(
  targetUrl: string,
): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const seen: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    seen.push(incoming.url ?? '');
    const path = (incoming.url ?? '').replace(/^\/app/, '') || '/';
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path,
        headers: incoming.headers,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/app`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A TCP relay to the app that, once armed, resets the next connection
 * reused for another request as it arrives: what a client meets when the
 * server closed an idle kept-alive connection just as it was reused.
 */
async function startResettingRelay(targetUrl: string) {
  const target = new URL(targetUrl);
  let armed = false;
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    let answered = false;
    sockets.add(client).add(upstream);
    upstream.on('data', (chunk) => {
      answered = true;
      client.write(chunk);
    });
    client.on('data', (chunk) => {
      if (armed && answered) {
        armed = false;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    for (const socket of [client, upstream])
      socket
        .on('error', () => undefined)
        .on('close', () => {
          client.destroy();
          upstream.destroy();
        });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arm: () => (armed = true),
    get armed() {
      return armed;
    },
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('kept-alive connections', () => {
  it('sends an internal request again when the connection it reused was reset before any answer', async () => {
    const app = await createTestApp({ controllers: [WhereController] });
    const relay = await startResettingRelay(app.url);
    const t = await createTestApp({
      controllers: [WhereController],
      backjob: { baseUrl: relay.url },
      sqliteFile: app.sqliteFile,
    });
    try {
      // Leaves idle kept-alive connections in BackJob's agent.
      const first = await waitForJob(t.backjob, await t.backjob.start('where'));
      expect(first.status).toBe(JobStatus.Completed);
      relay.arm();
      const done = await waitForJob(t.backjob, await t.backjob.start('where'));
      expect(relay.armed).toBe(false);
      expect(done.statusText).not.toMatch(/ECONNRESET|socket hang up/);
      expect(done.status).toBe(JobStatus.Completed);
    } finally {
      await t.close();
      await relay.close();
      await app.close();
    }
  });
});

describe('where internal requests go', () => {
  it("without baseUrl, hands them to the app in this process: no connection opened, a loopback request with the app's Host, outside the async context of the code that started the job", async () => {
    const t = await createTestApp({ controllers: [WhereController] });
    try {
      let connections = 0;
      (t.app.getHttpServer() as Server).on('connection', () => connections++);
      const id = await callerContext.run('the caller', () =>
        t.backjob.start('where'),
      );
      const status = await waitForJob(t.backjob, id);
      expect(status.status).toBe(JobStatus.Completed);
      const port = Number(new URL(t.url).port);
      expect(JSON.parse(status.statusText)).toEqual({
        secure: false,
        host: `127.0.0.1:${port}`,
        port,
        remote: '127.0.0.1',
        context: null,
      });
      expect(connections).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('an app served over https: its requests in process read as https ones; to baseUrl they go over https, trusting a self-signed certificate only when told to', async () => {
    const served = await createTestApp({
      controllers: [WhereController],
      httpsOptions: tls,
    });
    const strict = await createTestApp({
      controllers: [WhereController],
      sqliteFile: served.sqliteFile,
      backjob: { baseUrl: served.url },
    });
    const trusting = await createTestApp({
      controllers: [WhereController],
      sqliteFile: served.sqliteFile,
      backjob: { baseUrl: served.url, allowSelfSignedCertificates: true },
    });
    try {
      expect(served.url).toMatch(/^https:/);
      for (const app of [served, trusting]) {
        const status = await waitForJob(
          app.backjob,
          await app.backjob.start('where'),
        );
        expect(status.status).toBe(JobStatus.Completed);
        expect(JSON.parse(status.statusText)).toMatchObject({ secure: true });
      }
      const refused = await waitForJob(
        strict.backjob,
        await strict.backjob.start('where'),
      );
      expect(refused.status).toBe(JobStatus.Failed);
      expect(refused.statusText).toMatch(/self[- ]signed certificate/);
    } finally {
      await trusting.close();
      await strict.close();
      await served.close();
    }
  });

  it('baseUrl sends them through a proxy with a path prefix', async () => {
    const app = await createTestApp({ controllers: [WhereController] });
    const proxy = await startPrefixProxy(app.url);
    const proxied = await createTestApp({
      controllers: [WhereController],
      sqliteFile: app.sqliteFile,
      backjob: { baseUrl: proxy.url },
    });
    try {
      const status = await waitForJob(
        proxied.backjob,
        await proxied.backjob.start(['where', { x: 1 }]),
      );
      expect(status.status).toBe(JobStatus.Completed);
      // The monitor request went through the proxy; the app behind it ran the
      // job and, having no baseUrl of its own, sent the worker request to itself.
      expect(proxy.seen.filter((url) => url === '/app/where?x=1')).toHaveLength(
        1,
      );
      expect(JSON.parse(status.statusText).port).toBe(
        Number(new URL(app.url).port),
      );
    } finally {
      await proxied.close();
      await proxy.close();
      await app.close();
    }
  });

  it('checks at startup that the app reaches itself, and says how to fix it when it cannot', async () => {
    const healthyLogger = new RecordingLogger();
    const healthy = await createTestApp({
      controllers: [WhereController],
      logger: healthyLogger,
    });
    try {
      expect(await healthy.app.get(SelfCheckService).check()).toBe(true);
      expect(healthyLogger.errors).toEqual([]);
    } finally {
      await healthy.close();
    }
    const logger = new RecordingLogger();
    const broken = await createTestApp({
      controllers: [WhereController],
      logger,
      backjob: { baseUrl: 'http://127.0.0.1:9' },
    });
    try {
      for (let i = 0; i < 100 && logger.errors.length === 0; i++)
        await sleep(20);
      expect(logger.errors[0]).toMatch(
        /cannot reach this app at http:\/\/127\.0\.0\.1:9\/: .*ECONNREFUSED.*Set the baseUrl option/,
      );
      // An app that closes as its ping is under way has nothing to fix.
      broken.app.get(InstanceState).beginShutdown();
      const reported = logger.errors.length;
      expect(await broken.app.get(SelfCheckService).check()).toBe(false);
      expect(logger.errors).toHaveLength(reported);
    } finally {
      await broken.close();
    }
  });

  it('reports a baseUrl that takes the connection and never answers, within requestTimeout', async () => {
    const held: Socket[] = [];
    const silent = createNetServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) =>
      silent.listen(0, '127.0.0.1', resolve),
    );
    const { port } = silent.address() as AddressInfo;
    const logger = new RecordingLogger();
    const app = await createTestApp({
      controllers: [WhereController],
      logger,
      backjob: { baseUrl: `http://127.0.0.1:${port}`, requestTimeout: 1 },
    });
    try {
      expect(await app.app.get(SelfCheckService).check()).toBe(false);
      expect(logger.errors.at(-1)).toMatch(
        new RegExp(
          `cannot reach this app at http://127\\.0\\.0\\.1:${port}/: no answer in 1 s.*Set the baseUrl option`,
        ),
      );
    } finally {
      await app.close();
      held.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('fails a job whose monitor cannot be reached, with the URL it tried, and start() still returns its id', async () => {
    const t = await createTestApp({
      controllers: [WhereController],
      backjob: { baseUrl: 'http://127.0.0.1:9' },
    });
    try {
      const id = await t.backjob.start('where');
      const status = await t.backjob.getStatus(id);
      expect(status?.status).toBe(JobStatus.Failed);
      expect(status?.statusText).toMatch(
        /monitor request to http:\/\/127\.0\.0\.1:9\/where failed: .*ECONNREFUSED/,
      );
    } finally {
      await t.close();
    }
  });
});
