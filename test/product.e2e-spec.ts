import {
  Controller,
  Get,
  Injectable,
  Param,
  Post,
  Query,
  Req,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import {
  BackgroundWorker,
  BackJobService,
  InvalidJobQueryError,
  JobNotEndedError,
  JobNotFoundError,
  JobStatus,
  OnJobEnd,
  type JobStatusSnapshot,
} from 'nestjs-backjob';
import { firstValueFrom, filter, take, toArray } from 'rxjs';
import { BackJobContext } from '../libs/backjob/src/backjob.context.js';
import { JobMonitor } from '../libs/backjob/src/flow/job-monitor.js';
import { RecordingLogger } from './fixtures/boot.js';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { currentTestStore } from './fixtures/test-stores.js';

const MAX_OUTPUT = 4096;

/** The caller named by the `user` cookie: a session, as small as it gets. */
function userOf(request: { headers: Record<string, unknown> }): string | null {
  const cookie = String(request.headers.cookie ?? '');
  return /(?:^|; )user=([^;]+)/.exec(cookie)?.[1] ?? null;
}

@Injectable()
class SignedInGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return userOf(context.switchToHttp().getRequest()) !== null;
  }
}

@Controller('product')
class ProductWorkController {
  constructor(private readonly backjob: BackJobService) {}

  @Get('result')
  @BackgroundWorker()
  result(@Query('n') n: string) {
    return { url: `/files/${n}.csv`, rows: Number(n) };
  }

  @Get('explicit')
  @BackgroundWorker()
  explicit() {
    this.backjob.write('working;');
    this.backjob.setResult({ rows: 3 });
    return 'text output';
  }

  @Get('partial')
  @BackgroundWorker()
  partial() {
    this.backjob.setResult({ done: 2, of: 5 });
    throw new Error('row 3 is broken');
  }

  @Get('too-big')
  @BackgroundWorker()
  tooBig() {
    return { blob: 'x'.repeat(MAX_OUTPUT * 2) };
  }

  @Get('unsettable')
  @BackgroundWorker()
  unsettable() {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    this.backjob.setResult(cycle);
    return 'not reached';
  }

  @Get('whoami')
  @BackgroundWorker()
  @UseGuards(SignedInGuard)
  whoami(@Req() request: { headers: Record<string, unknown> }) {
    return userOf(request);
  }

  /** Who the job runs as; no guard, so an anonymous job runs too. */
  @Get('who')
  @BackgroundWorker()
  who(@Req() request: { headers: Record<string, unknown> }) {
    return userOf(request) ?? 'anonymous';
  }

  @Get('hold/:name')
  @BackgroundWorker()
  async hold(@Param('name') name: string) {
    await gates.wait(name);
    return name;
  }

  @Get('boom/:name')
  @BackgroundWorker()
  boom(@Param('name') name: string) {
    throw new Error(`boom ${name}`);
  }
}

/** Routes a browser calls: start and run again as the signed-in user. */
@Controller('my')
class MyJobsController {
  constructor(private readonly backjob: BackJobService) {}

  @Post('start')
  async start(@Req() request: { headers: Record<string, unknown> }) {
    return {
      id: await this.backjob.start('product/whoami', {
        scope: userOf(request) ?? '',
      }),
    };
  }

  @Post('retry/:id')
  async retry(@Param('id') id: string) {
    return { id: await this.backjob.retry(id) };
  }

  /** A job held at gate `name`, whose end a ChainListener follows up. */
  @Post('chained/:name')
  async chained(@Param('name') name: string) {
    return {
      id: await this.backjob.start(`product/hold/${name}`, {
        scope: 'chained',
      }),
    };
  }
}

/** Starts a follow-up job as each job of scope `chained` ends, as its users chain jobs. */
@Injectable()
class ChainListener {
  /** The follow-up's id, by the id of the job that ended. */
  readonly followUps = new Map<string, string>();

  constructor(private readonly backjob: BackJobService) {}

  @OnJobEnd({ scope: 'chained' })
  async followUp(job: JobStatusSnapshot) {
    this.followUps.set(
      job.id,
      await this.backjob.start('product/who', { scope: 'follow-up' }),
    );
  }
}

/** `@OnJobEnd()` listeners, each keeping the ids it heard, per app. */
@Injectable()
class EndListeners {
  static readonly heard = new Map<string, string[]>();
  readonly all: JobStatusSnapshot[] = [];
  readonly failed: string[] = [];

  @OnJobEnd()
  every(job: JobStatusSnapshot) {
    this.all.push(job);
  }

  @OnJobEnd({ status: JobStatus.Failed })
  onFailure(job: JobStatusSnapshot) {
    this.failed.push(job.id);
  }

  @OnJobEnd({ scope: 'throws' })
  async throwing(job: JobStatusSnapshot) {
    await Promise.resolve();
    throw new Error(`listener refused ${job.id}`);
  }
}

@Injectable()
class MistypedListener {
  @OnJobEnd({ status: 9 as JobStatus })
  never() {}
}

function unique(label: string): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`;
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const post = (t: TestApp, path: string, user?: string) =>
  fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: user ? { cookie: `user=${user}` } : {},
  }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as { id?: string; message?: string },
  }));

describe('the product around a job', () => {
  let t: TestApp;
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [ProductWorkController, MyJobsController],
      providers: [SignedInGuard, EndListeners],
      backjob: { maxOutputBytes: MAX_OUTPUT },
      logger,
    });
  });
  afterAll(() => t.close());

  describe('results', () => {
    it("keeps what the handler returns as the job's result, and its output as text", async () => {
      const done = await waitForJob(
        t.backjob,
        await t.backjob.start(['product/result', { n: 7 }]),
      );
      expect(done.status).toBe(JobStatus.Completed);
      expect(done.result).toEqual({ url: '/files/7.csv', rows: 7 });
      expect(done.statusText).toBe('{"url":"/files/7.csv","rows":7}');
      expect(done.retryOf).toBeNull();
    });

    it('takes setResult() over the returned value, and keeps it when the job then fails', async () => {
      const explicit = await waitForJob(
        t.backjob,
        await t.backjob.start('product/explicit'),
      );
      expect(explicit.result).toEqual({ rows: 3 });
      expect(explicit.statusText).toBe('working;text output');

      const partial = await waitForJob(
        t.backjob,
        await t.backjob.start('product/partial'),
      );
      expect(partial.status).toBe(JobStatus.Failed);
      expect(partial.result).toEqual({ done: 2, of: 5 });
      expect(partial.statusText).toContain('row 3 is broken');
    });

    it('stores no result larger than maxOutputBytes, and says so in the output', async () => {
      const done = await waitForJob(
        t.backjob,
        await t.backjob.start('product/too-big'),
      );
      expect(done.status).toBe(JobStatus.Completed);
      expect(done.result).toBeNull();
      expect(done.statusText).toMatch(
        /the result \(\d+ bytes as JSON\) was not stored: it is larger than maxOutputBytes \(4096\)/,
      );
    });

    it('fails a job whose handler gives setResult() a value JSON cannot encode, saying why', async () => {
      const done = await waitForJob(
        t.backjob,
        await t.backjob.start('product/unsettable'),
      );
      expect(done.status).toBe(JobStatus.Failed);
      expect(done.statusText).toMatch(/the result could not be serialised/);
      expect(done.result).toBeNull();
    });

    it('has no result while pending', async () => {
      const name = unique('pending-result');
      const id = await t.backjob.start(`product/hold/${name}`);
      await waitUntil(() => gates.reached.has(name), 'the handler');
      expect((await t.backjob.getStatus(id))?.result).toBeNull();
      gates.open(name);
      expect((await waitForJob(t.backjob, id)).result).toBe(name);
    });
  });

  describe('list() and counts()', () => {
    it('lists one scope newest first, page by page, and counts its jobs per status', async () => {
      const scope = unique('list');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = await t.backjob.start(['product/result', { n: i }], {
          scope,
        });
        ids.push(id);
        await waitForJob(t.backjob, id);
      }
      const failed = await t.backjob.start(`product/boom/${scope}`, { scope });
      await waitForJob(t.backjob, failed);
      await t.backjob.start(['product/result', { n: 1 }], {
        scope: `${scope}-other`,
      });

      const first = await t.backjob.list({ scope, limit: 4 });
      expect(first.jobs).toHaveLength(4);
      expect(first.cursor).toEqual(expect.any(String));
      const second = await t.backjob.list({
        scope,
        limit: 4,
        cursor: first.cursor,
      });
      expect(second.cursor).toBeUndefined();
      const listed = [...first.jobs, ...second.jobs];
      expect(listed.map((job) => job.scope)).toEqual(Array(6).fill(scope));
      expect(new Set(listed.map((job) => job.id))).toEqual(
        new Set([...ids, failed]),
      );
      // Newest first, by start time (ties broken by id, so none repeats).
      const times = listed.map((job) => job.startTime.getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));

      const onlyFailed = await t.backjob.list({
        scope,
        status: JobStatus.Failed,
      });
      expect(onlyFailed.jobs.map((job) => job.id)).toEqual([failed]);
      const ended = await t.backjob.list({
        scope,
        status: [JobStatus.Completed, JobStatus.Failed],
      });
      expect(ended.jobs).toHaveLength(6);

      expect(await t.backjob.counts({ scope })).toEqual({
        [JobStatus.Started]: 0,
        [JobStatus.InProgress]: 0,
        [JobStatus.Completed]: 5,
        [JobStatus.Failed]: 1,
        [JobStatus.Cancelled]: 0,
      });
    });

    it('lists and counts every scope when none is given, pending jobs too', async () => {
      const name = unique('all-scopes');
      const id = await t.backjob.start(`product/hold/${name}`, {
        scope: name,
      });
      await waitUntil(() => gates.reached.has(name), 'the handler');
      const all = await t.backjob.list({ limit: 100 });
      expect(all.jobs.map((job) => job.id)).toContain(id);
      expect(all.jobs.find((job) => job.id === id)?.status).toBe(
        JobStatus.InProgress,
      );
      const counts = await t.backjob.counts();
      expect(counts[JobStatus.InProgress]).toBeGreaterThanOrEqual(1);
      expect(counts[JobStatus.Completed]).toBeGreaterThanOrEqual(1);
      gates.open(name);
      await waitForJob(t.backjob, id);
    });

    it('gives an empty page for a scope without jobs', async () => {
      expect(await t.backjob.list({ scope: unique('nobody') })).toEqual({
        jobs: [],
      });
    });

    it.each([
      [
        'a limit of 0',
        { limit: 0 },
        /limit 0: give a whole number from 1 to 100/,
      ],
      ['a limit of 101', { limit: 101 }, /limit 101/],
      ['a fractional limit', { limit: 2.5 }, /limit 2\.5/],
      [
        'an unknown status',
        { status: 9 as JobStatus },
        /status 9: give a JobStatus/,
      ],
      [
        'a cursor it did not make',
        { cursor: 'bm90IG91cnM' },
        /a cursor it did not make/,
      ],
      ['an object scope', { scope: {} as string }, /is not a scope/],
      [
        'a scope with a NUL character',
        { scope: 'user\u00001' },
        /NUL character \(\\0\) is not a scope/,
      ],
    ])(
      'refuses %s with InvalidJobQueryError',
      async (_what, options, message) => {
        const refused = t.backjob.list(options);
        await expect(refused).rejects.toBeInstanceOf(InvalidJobQueryError);
        await expect(refused).rejects.toThrow(message);
      },
    );
  });

  describe('retry()', () => {
    it('runs an ended job again as the caller of retry(), linked to the first', async () => {
      const started = await post(t, '/my/start', 'alice');
      const first = await waitForJob(t.backjob, started.body.id!);
      expect(first.result).toBe('alice');

      const again = await post(t, `/my/retry/${first.id}`, 'bob');
      expect(again.status).toBe(201);
      const second = await waitForJob(t.backjob, again.body.id!);
      expect(second.id).not.toBe(first.id);
      expect(second.retryOf).toBe(first.id);
      expect(second.scope).toBe('alice');
      // bob's credentials, not alice's: those were never stored.
      expect(second.result).toBe('bob');

      // Anonymous, the guard refuses it, and the job says so.
      const anonymous = await post(t, `/my/retry/${first.id}`);
      const refused = await waitForJob(t.backjob, anonymous.body.id!);
      expect(refused.status).toBe(JobStatus.Failed);
      expect(refused.statusText).toMatch(/403|Forbidden/);
    });

    it('refuses a pending job with JobNotEndedError, and an unknown one with JobNotFoundError', async () => {
      const name = unique('retry-pending');
      const id = await t.backjob.start(`product/hold/${name}`);
      await waitUntil(() => gates.reached.has(name), 'the handler');
      const refused = t.backjob.retry(id);
      await expect(refused).rejects.toBeInstanceOf(JobNotEndedError);
      await expect(refused).rejects.toThrow(
        `Job ${id} is still pending (InProgress): only a job that ended can run again`,
      );
      gates.open(name);
      await waitForJob(t.backjob, id);
      await expect(t.backjob.retry(crypto.randomUUID())).rejects.toBeInstanceOf(
        JobNotFoundError,
      );
      await expect(t.backjob.retry('not-an-id')).rejects.toBeInstanceOf(
        JobNotFoundError,
      );
    });
  });

  it('finds a job by its id in capitals, as RFC 9562 reads a UUID in either case', async () => {
    const name = unique('upper');
    const id = await t.backjob.start(`product/hold/${name}`);
    const upper = id.toUpperCase();
    await waitUntil(() => gates.reached.has(name), 'the handler');
    expect((await t.backjob.getStatus(upper))?.id).toBe(id);
    expect(await t.backjob.getScope(upper)).toBe('');
    expect(await t.backjob.jobExists(upper)).toBe(true);
    expect((await firstValueFrom(t.backjob.watch(upper))).id).toBe(id);
    expect(await t.backjob.cancel(upper)).toBe(true);
    gates.open(name);
    const again = await t.backjob.retry(upper);
    expect((await t.backjob.getStatus(again))?.retryOf).toBe(id);
  });

  describe('events() and @OnJobEnd()', () => {
    it('emits the final snapshot of each job as it ends, cancelled ones too', async () => {
      const name = unique('events');
      const ended = firstValueFrom(
        t.backjob.events().pipe(
          filter((job) => job.scope === name),
          take(2),
          toArray(),
        ),
      );
      const completed = await t.backjob.start(['product/result', { n: 1 }], {
        scope: name,
      });
      await waitForJob(t.backjob, completed);
      const held = await t.backjob.start(`product/hold/${name}`, {
        scope: name,
      });
      await waitUntil(() => gates.reached.has(name), 'the handler');
      await t.backjob.cancel(held, 'not needed');
      gates.open(name);
      const snapshots = await ended;
      expect(snapshots.map((job) => [job.id, job.status])).toEqual([
        [completed, JobStatus.Completed],
        [held, JobStatus.Cancelled],
      ]);
      expect(snapshots[0].result).toEqual({ url: '/files/1.csv', rows: 1 });
    });

    it('calls each listener whose filter matches, once per ending, and logs one that throws', async () => {
      const listeners = t.app.get(EndListeners);
      const ok = await t.backjob.start(['product/result', { n: 2 }]);
      const failed = await t.backjob.start(`product/boom/${unique('l')}`);
      const throwing = await t.backjob.start(['product/result', { n: 3 }], {
        scope: 'throws',
      });
      for (const id of [ok, failed, throwing]) await waitForJob(t.backjob, id);
      await waitUntil(
        () =>
          [ok, failed, throwing].every((id) =>
            listeners.all.some((job) => job.id === id),
          ) && logger.errors.some((line) => line.includes(throwing)),
        'the listeners',
      );
      expect(listeners.all.filter((job) => job.id === ok)).toHaveLength(1);
      expect(listeners.all.find((job) => job.id === ok)?.status).toBe(
        JobStatus.Completed,
      );
      expect(listeners.failed).toContain(failed);
      expect(listeners.failed).not.toContain(ok);
      expect(logger.errors.join('\n')).toContain(
        `@OnJobEnd() listener EndListeners.throwing failed for job ${throwing}: listener refused ${throwing}`,
      );
      // The app goes on: another job runs and its listener hears it.
      const after = await t.backjob.start(['product/result', { n: 4 }]);
      await waitForJob(t.backjob, after);
      await waitUntil(
        () => listeners.all.some((job) => job.id === after),
        'the next ending',
      );
    });
  });

  it('stops the boot on an @OnJobEnd() filter that no job could match, naming the listener', async () => {
    await expect(
      createTestApp({
        controllers: [ProductWorkController],
        providers: [MistypedListener],
      }),
    ).rejects.toThrow(
      /@OnJobEnd\(\) on MistypedListener.never names status 9, which no job has/,
    );
  });

  describe('logs per job', () => {
    it('traces one job at debug level through start, worker request, claim and end', async () => {
      const debug = new RecordingLogger();
      const app = await createTestApp({
        controllers: [ProductWorkController],
        backjob: { maxOutputBytes: MAX_OUTPUT },
        logger: debug,
      });
      try {
        app.app.useLogger(debug);
        const id = await app.backjob.start(['product/result', { n: 5 }]);
        await waitForJob(app.backjob, id);
        await waitUntil(
          () => debug.lines.some((line) => line.includes(`job ${id}: ended`)),
          'the end trace',
        );
        const trace = debug.lines.filter((line) => line.includes(id));
        expect(trace).toEqual([
          expect.stringContaining(`job ${id}: recorded, GET /product/result`),
          expect.stringContaining(`job ${id}: worker request sent to http://`),
          expect.stringContaining(`job ${id}: claimed by its worker request`),
          expect.stringContaining(`job ${id}: ended Completed`),
        ]);
      } finally {
        await app.close();
      }
    });
  });
});

describe('jobs that an @OnJobEnd() listener starts', () => {
  let t: TestApp;
  // The worker of the refused job is answered 403 by the guard: provoked.
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [ProductWorkController, MyJobsController],
      providers: [SignedInGuard, ChainListener],
      // One at a time: the second job's monitor starts as the first ends.
      backjob: { maxConcurrentJobs: 1 },
      logger,
    });
  });
  afterAll(() => t.close());

  it('run anonymously, whichever request wrote the ending: not as the user whose job ran before', async () => {
    const listener = t.app.get(ChainListener);
    // The request state each job's monitor starts in: none, though each
    // one here is set going from a request (Alice's start(), then the end
    // of her job's monitor) and holds on to it for as long as it runs.
    const monitor = t.app.get(JobMonitor);
    const run = monitor.run;
    const monitoredIn = new Map<string, unknown>();
    monitor.run = function (this: JobMonitor, ...args) {
      monitoredIn.set(args[0].id, BackJobContext.instance.state);
      return run.apply(this, args);
    };
    const name = unique('alice');
    // Alice's job ends in her worker request, which carries her cookie.
    const { body } = await post(t, `/my/chained/${name}`, 'alice');
    const alices = body.id!;
    await waitUntil(() => gates.reached.has(name), "Alice's handler");
    // Queued behind hers; its worker is refused (no one is signed in), so
    // its monitor, set going by the end of Alice's job, ends it.
    const refused = await t.backjob.start('product/whoami', {
      scope: 'chained',
    });
    gates.open(name);
    expect((await waitForJob(t.backjob, alices)).status).toBe(
      JobStatus.Completed,
    );
    expect((await waitForJob(t.backjob, refused)).status).toBe(
      JobStatus.Failed,
    );
    await waitUntil(
      () => listener.followUps.has(alices) && listener.followUps.has(refused),
      'the follow-ups',
    );
    monitor.run = run;
    expect(monitoredIn.get(alices)).toBeUndefined();
    expect(monitoredIn.get(refused)).toBeUndefined();
    for (const ended of [alices, refused]) {
      const followUp = await waitForJob(
        t.backjob,
        listener.followUps.get(ended)!,
      );
      expect(followUp).toMatchObject({
        status: JobStatus.Completed,
        result: 'anonymous',
      });
    }
  });
});

describe('endings on several instances sharing a store', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({
      controllers: [ProductWorkController],
      providers: [EndListeners],
    });
    b = await createTestApp({
      controllers: [ProductWorkController],
      providers: [EndListeners],
      sqliteFile: a.sqliteFile,
    });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it("calls @OnJobEnd() only on the instance that wrote the ending; with Redis, the other's events() hears it too", async () => {
    const scope = unique('shared');
    const pushed = ['redis', 'postgres+redis'].includes(currentTestStore());
    const remote = pushed
      ? firstValueFrom(
          b.backjob.events().pipe(filter((job) => job.scope === scope)),
        )
      : undefined;
    const id = await a.backjob.start(['product/result', { n: 9 }], { scope });
    await waitForJob(a.backjob, id);
    const onA = a.app.get(EndListeners);
    await waitUntil(() => onA.all.some((job) => job.id === id), 'a listener');
    // b read the same ended job, and listed it, but never ended it.
    expect((await b.backjob.list({ scope })).jobs.map((job) => job.id)).toEqual(
      [id],
    );
    if (remote) expect((await remote).id).toBe(id);
    expect(b.app.get(EndListeners).all.some((job) => job.id === id)).toBe(
      false,
    );
    // Cancelled from b: b wrote that ending, so b's listener hears it.
    const name = unique('cancel-b');
    const held = await a.backjob.start(`product/hold/${name}`, { scope });
    await waitUntil(() => gates.reached.has(name), 'the handler');
    await b.backjob.cancel(held);
    gates.open(name);
    const onB = b.app.get(EndListeners);
    await waitUntil(() => onB.all.some((job) => job.id === held), 'b');
    expect(onA.all.some((job) => job.id === held)).toBe(false);
  });
});
