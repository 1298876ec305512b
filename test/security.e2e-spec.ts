import { JobStatus } from 'nestjs-backjob';
import { RequestSigner } from '../libs/backjob/src/flow/request-signer.js';
import { BACKJOB_RESOLVED_OPTIONS } from '../libs/backjob/src/backjob.constants.js';
import type { ResolvedBackJobOptions } from '../libs/backjob/src/backjob.options.js';
import { JobTracker } from '../libs/backjob/src/storage/job-tracker.js';
import { redisEntriesNaming } from './fixtures/store-setup.js';
import { currentTestStore } from './fixtures/test-stores.js';
import {
  createTestApp,
  TEST_KEY,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import {
  BearerGuard,
  ClientController,
  runs,
  sleep,
  startAsClient,
  StepsService,
  WorkController,
} from './fixtures/work.controller.js';

const TOKEN = 'x-backjob-token';

describe('internal requests are signed, single-use and run as the caller', () => {
  let t: TestApp;
  const signer = new RequestSigner(TEST_KEY);
  const target = { method: 'GET', path: '/work/steps/s' };

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [WorkController, ClientController],
      providers: [StepsService, BearerGuard],
    });
  });
  afterAll(() => t.close());

  const call = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { headers });

  it('refuses a direct call to a @BackgroundWorker route with 403, without running it', async () => {
    runs.delete('steps');
    const response = await call('/work/steps/s?n=1');
    expect(response.status).toBe(403);
    expect(((await response.json()) as { message: string }).message).toContain(
      'runs only as a background job',
    );
    expect(runs.get('steps')).toBeUndefined();
  });

  it('lets ordinary routes through, as ordinary requests', async () => {
    const response = await call('/work/open');
    expect(await response.text()).toBe('open, worker=false');
  });

  it('treats missing, garbled, wrong-length, expired and tampered signatures as ordinary requests (403, never 500)', async () => {
    runs.delete('steps');
    const id = '5b0c3a4e-7f0e-4d8a-9a55-2b1f8f1c2d3e';
    const valid = signer.sign(id, 'worker', target, 60);
    const parts = valid.split('.');
    const forged = [
      '',
      'garbage',
      'v2.worker.not-a-uuid.99999999999.abc',
      valid.replace(/^v2/, 'v1'), // the old format
      [...parts.slice(0, 5), parts[5].slice(0, 20)].join('.'), // wrong length
      [...parts.slice(0, 5), '!'.repeat(43)].join('.'), // not base64url
      [...parts.slice(0, 5), 'A'.repeat(43)].join('.'), // right length, wrong value
      [
        ...parts.slice(0, 3),
        String(Number(parts[3]) + 100),
        ...parts.slice(4),
      ].join('.'), // expiry changed
      signer.sign(id, 'worker', target, -10), // expired
      signer.sign(id, 'worker', { method: 'GET', path: '/work/object' }, 60), // for another route
      signer.sign(id, 'worker', { method: 'POST', path: '/work/steps/s' }, 60), // for another method
      signer.sign(id, 'monitor', { method: 'GET', path: '/work/steps/x' }, 60), // monitor for another route
      new RequestSigner('another-key-another-key-another-key-0000').sign(
        id,
        'worker',
        target,
        60,
      ),
      'x'.repeat(5000),
    ];
    for (const token of forged) {
      const response = await call('/work/steps/s?n=1', { [TOKEN]: token });
      expect(response.status, `token ${token.slice(0, 60)}`).toBe(403);
    }
    expect(runs.get('steps')).toBeUndefined();
  });

  it('runs a worker request once: a replay or a double gets 409 and runs nothing', async () => {
    runs.delete('steps');
    // A delayed job stays Started while its monitor waits: we play the worker ourselves.
    const id = await t.backjob.start(['work/steps/s', { n: 1 }], { delay: 2 });
    const token = signer.sign(id, 'worker', target, 60);
    const [first, second] = await Promise.all([
      call('/work/steps/s?n=1', { [TOKEN]: token }),
      call('/work/steps/s?n=1', { [TOKEN]: token }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const replay = await call('/work/steps/s?n=1', { [TOKEN]: token });
    expect(replay.status).toBe(409);
    expect(runs.get('steps')).toBe(1);
    // The monitor's own worker request, when the delay ends, finds the job taken.
    await sleep(2300);
    expect(runs.get('steps')).toBe(1);
    expect(await t.backjob.getStatus(id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 's:1;s:done',
    });
  });

  it('a replayed monitor request does not run the job again', async () => {
    runs.delete('steps');
    const id = await t.backjob.start(['work/steps/s', { n: 1 }]);
    await waitForJob(t.backjob, id);
    const monitorToken = signer.sign(id, 'monitor', target, 60);
    const response = await call('/work/steps/s?n=1', { [TOKEN]: monitorToken });
    expect(response.status).toBe(202);
    await sleep(200);
    expect(runs.get('steps')).toBe(1);
  });

  it("forwards the caller's cookies and Authorization header to the worker", async () => {
    const id = await startAsClient(
      t.url,
      {
        cookie: 'sid=abc123',
        authorization: 'Bearer let-me-in',
        'x-other': 'no',
      },
      'work/whoami',
    );
    expect(JSON.parse((await waitForJob(t.backjob, id)).statusText)).toEqual({
      cookie: 'sid=abc123',
      authorization: 'Bearer let-me-in',
    });
  });

  it("runs the action through the route's guards as the caller", async () => {
    const start = (withUserCookies?: boolean) =>
      startAsClient(
        t.url,
        { authorization: 'Bearer let-me-in' },
        'work/guarded',
        {
          withUserCookies,
          merge: false,
        },
      );
    const asUser = await start();
    expect(await waitForJob(t.backjob, asUser)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'let in',
    });
    const refused = await waitForJob(t.backjob, await start(false));
    expect(refused.status).toBe(JobStatus.Failed);
    expect(refused.statusText).toContain('403');
  });

  it('runs anonymously when started outside any request', async () => {
    const id = await t.backjob.start('work/whoami');
    expect(JSON.parse((await waitForJob(t.backjob, id)).statusText)).toEqual({
      cookie: null,
      authorization: null,
    });
  });

  it('never stores the credentials it forwards', async () => {
    const id = await startAsClient(
      t.url,
      {
        cookie: 'sid=secret-cookie-value',
        authorization: 'Bearer secret-token',
      },
      'work/object',
    );
    await waitForJob(t.backjob, id);
    const row = JSON.stringify(await t.app.get(JobTracker).find(id));
    expect(row).toContain(id);
    expect(row).not.toContain('secret-cookie-value');
    expect(row).not.toContain('secret-token');
    if (!currentTestStore().includes('redis')) return;
    // In Redis: only keys under the app's cachePrefix, and no credential in them.
    const { cachePrefix } = t.app.get<ResolvedBackJobOptions>(
      BACKJOB_RESOLVED_OPTIONS,
    );
    const entries = await redisEntriesNaming(id);
    expect(entries.length).toBeGreaterThan(0);
    for (const { key, value } of entries) {
      expect(key.startsWith(cachePrefix), key).toBe(true);
      expect(value).not.toContain('secret-cookie-value');
      expect(value).not.toContain('secret-token');
    }
  });
});
