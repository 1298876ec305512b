import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import {
  BackgroundWorker,
  InvalidJobRequestError,
  JobStatus,
} from 'nestjs-backjob';
import { JobTracker } from '../libs/backjob/src/storage/job-tracker.js';
import { EchoController } from './fixtures/echo.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { ClientController, startAsClient } from './fixtures/work.controller.js';

@Controller('health')
class HealthController {
  @Get()
  @BackgroundWorker()
  health(@Req() req: Request) {
    return `healthy at ${req.originalUrl}`;
  }
}

interface Echo {
  method: string;
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  headers: Record<string, string | null>;
}

async function echoOf(t: TestApp, id: string): Promise<Echo> {
  const status = await waitForJob(t.backjob, id);
  expect(status.status, status.statusText).toBe(JobStatus.Completed);
  return JSON.parse(status.statusText) as Echo;
}

describe('what a job request carries', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [EchoController, ClientController],
      backjob: {
        userAgent: 'ReportsBot/1.0',
        forwardHeaders: [
          'cookie',
          'x-csrf-token',
          'x-custom',
          'host',
          'content-length',
          'connection',
        ],
        mergeIdentical: false,
        // Above the body parser's 100 kB, to show what the app does then.
        maxRequestBytes: 1_000_000,
      },
    });
  });
  afterAll(() => t.close());

  it.each(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])(
    'sends a %s request',
    async (method) => {
      const echo = await echoOf(
        t,
        await t.backjob.start({ route: 'echo', method }),
      );
      expect(echo.method).toBe(method);
    },
  );

  it("refuses a method Node's parser cannot carry, naming the allowed ones, and records no job", async () => {
    const tracker = t.app.get(JobTracker);
    const inserted: string[] = [];
    const subscription = tracker.changes.subscribe((id) => inserted.push(id));
    try {
      const attempt = t.backjob.start(['echo', { backjobMethod: 'CHICKEN' }]);
      await expect(attempt).rejects.toThrow(InvalidJobRequestError);
      await expect(
        t.backjob.start({ route: 'echo', method: 'CHICKEN' }),
      ).rejects.toThrow(/one of ACL, BIND, .*GET.*POST/);
      expect(inserted).toEqual([]);
    } finally {
      subscription.unsubscribe();
    }
  });

  it('sends backjobPostdata url-encoded, nested the way Express reads it back, and keeps both special keys out of the query', async () => {
    const id = await t.backjob.start([
      'echo',
      {
        page: 1,
        backjobMethod: 'POST',
        backjobPostdata: {
          id: 5,
          name: 'Name & Co',
          tags: ['x'],
          address: { city: 'Zürich', lines: ['a', 'b'] },
          rows: [{ n: 1 }, { n: 2 }],
        },
      },
    ]);
    const echo = await echoOf(t, id);
    expect(echo).toMatchObject({
      method: 'POST',
      query: { page: '1' },
      body: {
        id: '5',
        name: 'Name & Co',
        tags: ['x'],
        address: { city: 'Zürich', lines: ['a', 'b'] },
        rows: [{ n: '1' }, { n: '2' }],
      },
    });
    expect(echo.headers['content-type']).toBe(
      'application/x-www-form-urlencoded',
    );
  });

  it('sends a JSON body when asked', async () => {
    const body = { id: 5, nested: { ok: true, list: [1, 2] } };
    const echo = await echoOf(
      t,
      await t.backjob.start({
        route: 'echo',
        method: 'PUT',
        body,
        bodyType: 'json',
      }),
    );
    expect(echo).toMatchObject({ method: 'PUT', body });
    expect(echo.headers['content-type']).toBe('application/json');
  });

  it("fails a job whose worker request the app refuses before any handler (a body over the parser's limit), with the status and body", async () => {
    const id = await t.backjob.start({
      route: 'echo',
      method: 'POST',
      body: { data: 'x'.repeat(200_000) },
    });
    const status = await waitForJob(t.backjob, id);
    expect(status.status).toBe(JobStatus.Failed);
    expect(status.statusText).toMatch(
      /worker request to http:\/\/\S+ failed: it was answered 413: .*too large/i,
    );
  });

  it('defaults to POST when a body is given', async () => {
    const echo = await echoOf(
      t,
      await t.backjob.start({ route: 'echo', body: { a: 1 } }),
    );
    expect(echo).toMatchObject({ method: 'POST', body: { a: '1' } });
  });

  it('keeps every route inside the app', async () => {
    for (const route of [
      'http://evil.example/x',
      '//evil.example/x',
      'a/../admin',
      './a',
      'a//b',
      'a\\b',
      'a?x=1',
      'a#b',
      'a\r\nX-Injected: 1',
      'javascript:alert(1)',
    ]) {
      await expect(t.backjob.start(route), route).rejects.toThrow(
        InvalidJobRequestError,
      );
    }
    await expect(t.backjob.start(42 as never)).rejects.toThrow(
      /takes a route string/,
    );
    // Odd characters in a segment are sent encoded, to a path of this app.
    const echo = await echoOf(t, await t.backjob.start('echo'));
    expect(echo.path).toBe('/echo');
  });

  it('sends the configured userAgent', async () => {
    const echo = await echoOf(t, await t.backjob.start('echo'));
    expect(echo.headers['user-agent']).toBe('ReportsBot/1.0');
  });

  it('forwards cookies and the CSRF header of the caller, and never Host, Content-Length or Connection', async () => {
    const headers = {
      cookie: 'sid=s1',
      'x-csrf-token': 'csrf-123',
      'x-custom': 'custom',
      'x-not-listed': 'nope',
    };
    const echo = await echoOf(t, await startAsClient(t.url, headers, 'echo'));
    expect(echo.headers).toMatchObject({
      cookie: 'sid=s1',
      'x-csrf-token': 'csrf-123',
      'x-custom': 'custom',
    });
    expect(echo.headers.host).toBe(new URL(t.url).host);
    expect(JSON.stringify(echo)).not.toContain('nope');
  });

  it('runs anonymously with withUserCookies: false', async () => {
    const headers = { cookie: 'sid=s1', 'x-csrf-token': 'csrf-123' };
    const id = await startAsClient(t.url, headers, 'echo', {
      withUserCookies: false,
    });
    expect((await echoOf(t, id)).headers).toMatchObject({
      cookie: null,
      'x-csrf-token': null,
    });
  });

  it('keeps a delayed job Started, with its start time ahead, until the delay ends', async () => {
    const before = Date.now();
    const id = await t.backjob.start('echo', { delay: 1.2 });
    const waiting = await t.backjob.getStatus(id);
    expect(waiting?.status).toBe(JobStatus.Started);
    expect(waiting!.startTime.getTime()).toBeGreaterThanOrEqual(before + 1200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await t.backjob.getStatus(id))?.status).toBe(JobStatus.Started);
    const done = await waitForJob(t.backjob, id);
    expect(done.status).toBe(JobStatus.Completed);
    expect(done.endTime!.getTime()).toBeGreaterThanOrEqual(before + 1200);
  });
});

describe('a global prefix', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [EchoController, HealthController],
      globalPrefix: 'api/v1',
      globalPrefixExclude: ['health'],
    });
  });
  afterAll(() => t.close());

  it('is part of every route, as the app serves it', async () => {
    const echo = await echoOf(t, await t.backjob.start(['echo', { q: 1 }]));
    expect(echo).toMatchObject({ path: '/api/v1/echo', query: { q: '1' } });
  });

  it('is left out for a route the app excludes from it', async () => {
    const status = await waitForJob(t.backjob, await t.backjob.start('health'));
    expect(status).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'healthy at /health',
    });
  });
});
