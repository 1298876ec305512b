import { Body, Controller, Get, Post } from '@nestjs/common';
import {
  BackgroundWorker,
  InvalidJobRequestError,
  JobStatus,
  type JobRequest,
  type StartJobOptions,
} from 'nestjs-backjob';
import { BACKJOB_JOB_STORE } from '../libs/backjob/src/backjob.constants.js';
import type { JobStore } from '../libs/backjob/src/storage/job-store.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

let handlerRuns = 0;

@Controller('bad-input')
class TargetController {
  @Get()
  @BackgroundWorker()
  target() {
    handlerRuns++;
    return 'ran';
  }

  /** Says whether a JSON body's lone surrogate arrived as it was sent. */
  @Post()
  @BackgroundWorker()
  posted(@Body() body: { k?: string }) {
    handlerRuns++;
    return body.k === '\uD800' ? 'kept' : 'changed';
  }
}

describe('start() refuses a request it cannot send, before it writes anything', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [TargetController] });
  });
  afterAll(() => t.close());

  /** Every pending job of the store: a cutoff in the far future makes them all "stale". */
  const pendingJobs = () =>
    t.app
      .get<JobStore>(BACKJOB_JOB_STORE)
      .findStale(Date.now() + 86_400_000, 100);

  /** Expects start() to refuse with a message matching `message`, writing no job and sending no request. */
  async function expectRefused(
    request: JobRequest,
    message: RegExp,
    options?: StartJobOptions,
  ) {
    const runsBefore = handlerRuns;
    await expect(t.backjob.start(request, options)).rejects.toThrow(
      InvalidJobRequestError,
    );
    await expect(t.backjob.start(request, options)).rejects.toThrow(message);
    expect(await pendingJobs()).toEqual([]);
    expect(handlerRuns).toBe(runsBefore);
  }

  it('refuses parameters, a form body or options of a shape it would garble', async () => {
    const params =
      /query parameters are an object of names and values, e\.g\. \{ year: 2026 \}/;
    await expectRefused(
      ['bad-input', 'year=2026' as never],
      new RegExp(
        `cannot send "year=2026" as the array's parameters: ${params.source}`,
      ),
    );
    await expectRefused(
      { route: 'bad-input', query: 'step=5' as never },
      new RegExp(`cannot send "step=5" as the query: ${params.source}`),
    );
    await expectRefused(
      { route: 'bad-input', query: [1, 2] as never },
      /cannot send an array as the query/,
    );
    await expectRefused(
      { route: 'bad-input', method: 'POST', body: 5 },
      /cannot send 5 as a form body: give an object of fields or a url-encoded string, or send it as JSON with bodyType: 'json'/,
    );
    await expectRefused(
      'bad-input',
      /start\(\) takes its options as an object, e\.g\. \{ scope: 'alice', delay: 5 \}, not "notanobject"/,
      'notanobject' as never,
    );
    await expectRefused('bad-input', /not an array/, [] as never);
    await expectRefused(
      'bad-input',
      /start\(\) option withUserCookies must be true or false, not "no"/,
      { withUserCookies: 'no' as never },
    );
    await expectRefused(
      'bad-input',
      /start\(\) option merge must be true or false, not 0/,
      { merge: 0 as never },
    );
  });

  it('names the key path of a cycle in the query', async () => {
    const filter: Record<string, unknown> = { year: 2026 };
    filter.self = filter;
    await expectRefused(
      { route: 'bad-input', query: { filter } },
      /query\.filter\.self is a reference to one of its own parents \(a cycle\)\. Pass plain data/,
    );
  });

  it('names the key path of a cycle in a body, through a list', async () => {
    const row: Record<string, unknown> = {};
    row.parent = { rows: [row] };
    await expectRefused(
      { route: 'bad-input', body: { rows: [row] }, bodyType: 'json' },
      /body\.rows\[0\]\.parent\.rows\[0\] is a reference to one of its own parents/,
    );
  });

  it('refuses a BigInt in a JSON body, and functions and symbols anywhere', async () => {
    await expectRefused(
      { route: 'bad-input', body: { total: 10n }, bodyType: 'json' },
      /body\.total is a BigInt, which JSON cannot encode/,
    );
    await expectRefused(
      ['bad-input', { backjobPostdata: { onDone: () => 1 } }],
      /body\.onDone is a function/,
    );
    await expectRefused(
      { route: 'bad-input', query: { tag: Symbol('t') } },
      /query\.tag is a symbol/,
    );
  });

  it('refuses a Map or a Set anywhere, which would arrive empty, naming its key path', async () => {
    await expectRefused(
      { route: 'bad-input', query: { ids: new Set([1, 2]) } },
      /query\.ids is a Set, which would arrive empty; convert it with Array\.from\(\)/,
    );
    await expectRefused(
      {
        route: 'bad-input',
        body: { lookup: { byId: new Map([[1, 'a']]) } },
        bodyType: 'json',
      },
      /body\.lookup\.byId is a Map, which would arrive empty; convert it with Object\.fromEntries\(\)/,
    );
    await expectRefused(
      ['bad-input', { backjobPostdata: { rows: [new Map()] } }],
      /body\.rows\[0\] is a Map/,
    );
  });

  it('counts the scope in characters, as its column does: 255 of any width fit, 256 do not', async () => {
    // 255 characters of 2, 3 and 4 bytes in UTF-8 (340 UTF-16 units).
    const scope = 'é€😀'.repeat(85);
    const id = await t.backjob.start('bad-input', { scope });
    expect(await t.backjob.getScope(id)).toBe(scope);
    expect((await waitForJob(t.backjob, id)).statusText).toBe('ran');
    await expectRefused(
      'bad-input',
      /scope is 256 characters long; the job table keeps at most 255/,
      { scope: '😀'.repeat(256) },
    );
  });

  it('refuses a scope that is not a string, too long for its column, or with a NUL character', async () => {
    await expectRefused('bad-input', /scope must be a string, not number 42/, {
      scope: 42 as never,
    });
    await expectRefused(
      'bad-input',
      /scope is 256 characters long; the job table keeps at most 255/,
      { scope: 'x'.repeat(256) },
    );
    // PostgreSQL's text cannot hold one: refused alike on every store.
    await expectRefused('bad-input', /scope contains a NUL character/, {
      scope: 'user\u00001',
    });
  });

  it('refuses a lone surrogate (half of a UTF-16 pair) where URL encoding would carry it, and sends it in a JSON body', async () => {
    await expectRefused('bad-input/\uD800', /holds a lone surrogate/);
    await expectRefused(
      ['bad-input', { q: 'x\uDC00' }],
      /query\.q is a string with a lone surrogate/,
    );
    await expectRefused(
      ['bad-input', { ['k\uD800']: 1 }],
      /query is an object with a key that holds a string with a lone surrogate/,
    );
    await expectRefused(
      { route: 'bad-input', body: { k: '\uD800' } },
      /body\.k is a string with a lone surrogate/,
    );
    const id = await t.backjob.start({
      route: 'bad-input',
      body: { k: '\uD800' },
      bodyType: 'json',
    });
    expect((await waitForJob(t.backjob, id)).statusText).toBe('kept');
  });

  it('refuses a body over maxRequestBytes (100 kB by default), with its size and the limit', async () => {
    await expectRefused(
      { route: 'bad-input', body: 'x'.repeat(102_401) },
      /body of 102401 bytes: the limit is 102400 bytes \(maxRequestBytes/,
    );
  });

  it('still starts what it can send: a BigInt in a url-encoded query, a Date, a long but allowed scope', async () => {
    const id = await t.backjob.start(
      { route: 'bad-input', query: { n: 10n, at: new Date(0) } },
      { scope: 'x'.repeat(255) },
    );
    expect(await t.backjob.getScope(id)).toBe('x'.repeat(255));
    expect((await waitForJob(t.backjob, id)).statusText).toBe('ran');
  });
});

describe('a job request larger than the server takes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [TargetController] });
  });
  afterAll(() => t.close());

  it('fails its job with the answer, a way out, and the URL shortened', async () => {
    // Past Node's 16 KB for the request line and headers.
    const id = await t.backjob.start(['bad-input', { q: 'y'.repeat(20_000) }]);
    const ended = await waitForJob(t.backjob, id);
    expect(ended.status).toBe(JobStatus.Failed);
    expect(ended.statusText).toMatch(
      /\/bad-input\?q=y+…y+ \(20013 characters\) failed: it was answered 431/,
    );
    expect(ended.statusText).toMatch(
      /pass an id and let the action load the data/,
    );
    expect(ended.statusText.length).toBeLessThan(1000);
  });
});
