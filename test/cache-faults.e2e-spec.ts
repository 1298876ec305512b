import { createClient, createKeyv } from '@keyv/redis';
import { CACHE_MANAGER, CacheModule, type Cache } from '@nestjs/cache-manager';
import {
  ConsoleLogger,
  Controller,
  Get,
  Query,
  type INestApplication,
} from '@nestjs/common';
import {
  BackgroundWorker,
  BackJobService,
  JobStatus,
  type JobStatusSnapshot,
} from 'nestjs-backjob';
import { ScheduleModule } from '@nestjs/schedule';
import { randomBytes } from 'node:crypto';
import { BackJobModule, JobStoreUnavailableError } from 'nestjs-backjob';
import { bootApp, RecordingLogger as LineLogger } from './fixtures/boot.js';
import { deleteRedisKeys } from './fixtures/store-setup.js';
import { startTcpFault, type TcpFault } from './fixtures/tcp-proxy.js';
import {
  createTestApp,
  TEST_KEY,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { serviceUrl } from './fixtures/test-stores.js';
import { sleep } from './fixtures/work.controller.js';

const CACHE_TIMEOUT = 100;

@Controller('cached')
class CachedController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @BackgroundWorker()
  async run(@Query('ms') ms = '50') {
    this.backjob.update(10, 'working');
    await sleep(Number(ms));
    this.backjob.update(90, 'almost');
    return 'done';
  }
}

/** Keeps what the module logs, to count its warnings. */
class RecordingLogger extends ConsoleLogger {
  readonly lines: { level: string; message: string }[] = [];

  override log(message: unknown) {
    this.lines.push({ level: 'log', message: String(message) });
  }

  override warn(message: unknown) {
    this.lines.push({ level: 'warn', message: String(message) });
  }

  override error(message: unknown) {
    this.lines.push({ level: 'error', message: String(message) });
  }

  said(level: string, pattern: RegExp) {
    return this.lines.filter(
      (line) => line.level === level && pattern.test(line.message),
    );
  }
}

/** Resolves with the result and how long it took. */
async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, performance.now() - started];
}

// PostgreSQL with Redis in front of it, Redis reached through a relay that
// can hang or drop. Runs in the postgres+redis project.
describe('a cache that fails beside the database', () => {
  let fault: TcpFault;
  let logger: RecordingLogger;
  let t: TestApp;

  beforeEach(async () => {
    fault = await startTcpFault(serviceUrl('redis'));
    logger = new RecordingLogger();
    t = await createTestApp({
      controllers: [CachedController],
      store: 'postgres',
      logger,
      imports: [redisCacheAt(fault.url)],
      backjob: { useCache: true, cacheTimeout: CACHE_TIMEOUT },
    });
  });
  afterEach(async () => {
    fault.restore();
    // Closing a Redis client that is still reconnecting waits for it: let
    // it reconnect first (a read is queued until it has).
    await t.app.get<Cache>(CACHE_MANAGER).get('reconnected');
    await t.close();
    await fault.close();
  });

  for (const [name, breakIt] of [
    ['hangs', (f: TcpFault) => f.hang()],
    ['goes down', (f: TcpFault) => f.cut()],
  ] as const) {
    it(`${name}: jobs run and are read through the database, no caller waits longer than cacheTimeout, and one warning says so`, async () => {
      const before = await t.backjob.start('cached', { merge: false });
      await waitForJob(t.backjob, before);
      breakIt(fault);

      const [id, startMs] = await timed(
        t.backjob.start(['cached', { ms: 100 }], { merge: false }),
      );
      expect(startMs).toBeLessThan(CACHE_TIMEOUT + 300);
      const reads: number[] = [];
      let status: JobStatusSnapshot | null = null;
      while (status?.status !== JobStatus.Completed) {
        const [read, ms] = await timed(t.backjob.getStatus(id));
        reads.push(ms);
        status = read;
        await sleep(10);
      }
      expect(status).toMatchObject({ progress: 100, statusText: 'done' });
      expect(Math.max(...reads)).toBeLessThan(CACHE_TIMEOUT + 100);
      expect(await t.backjob.getStatus(before)).toMatchObject({
        status: JobStatus.Completed,
      });
      expect(logger.said('warn', /cache failed/)).toHaveLength(1);
      expect(logger.said('warn', /cache failed/)[0].message).toMatch(
        /Jobs are read from and written to the database alone/,
      );
      expect(logger.said('error', /./)).toEqual([]);
    });
  }

  it('never serves a job as unfinished once it ended, when the cache missed the end and comes back', async () => {
    const id = await t.backjob.start(['cached', { ms: 700 }], {
      merge: false,
    });
    // Cached while it runs…
    await waitForJob(t.backjob, id, (s) => s.progress === 10);
    fault.cut();
    // …ended while the cache is down…
    const ended = await waitForJob(t.backjob, id);
    expect(ended).toMatchObject({ status: JobStatus.Completed });
    fault.restore();
    // …and read again and again while it comes back.
    const deadline = Date.now() + 8000;
    while (logger.said('log', /cache answers again/).length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      expect((await t.backjob.getStatus(id))?.status).toBe(JobStatus.Completed);
      await sleep(25);
    }
    for (let i = 0; i < 20; i++) {
      expect(await t.backjob.getStatus(id)).toEqual(ended);
      await sleep(10);
    }
  });
});

// Two instances on one table and one Redis; only the first reaches Redis
// through the relay. Runs in the postgres+redis project.
describe('one instance loses its cache, the other keeps it', () => {
  let fault: TcpFault;
  let logger: LineLogger;
  let cutOff: TestApp | undefined;
  let other: TestApp | undefined;

  async function boot(pendingCacheTtl: number) {
    fault = await startTcpFault(serviceUrl('redis'));
    logger = new LineLogger();
    const backjob = {
      useCache: true,
      cacheTimeout: CACHE_TIMEOUT,
      pendingCacheTtl,
    };
    cutOff = await createTestApp({
      controllers: [CachedController],
      store: 'postgres',
      logger,
      imports: [redisCacheAt(fault.url)],
      backjob,
    });
    other = await createTestApp({
      controllers: [CachedController],
      store: 'postgres',
      sqliteFile: cutOff.sqliteFile,
      // Nest's logger is one per process: both apps share it.
      logger,
      imports: [redisCacheAt(serviceUrl('redis'))],
      backjob,
    });
    return { cutOff, other };
  }

  afterEach(async () => {
    fault.restore();
    await cutOff?.app.get<Cache>(CACHE_MANAGER).get('reconnected');
    await other?.close();
    await cutOff?.close();
    await fault.close();
    cutOff = other = undefined;
  });

  /** Starts a job on `a`, waits until `b` reads it running, cuts `a` off Redis, and returns it ended. */
  async function endWhileCutOff(a: TestApp, b: TestApp) {
    const id = await a.backjob.start(['cached', { ms: 300 }], { merge: false });
    await waitForJob(b.backjob, id, (s) => s.progress === 10);
    fault.cut();
    const ended = await waitForJob(a.backjob, id);
    expect(ended).toMatchObject({ status: JobStatus.Completed });
    return { id, ended };
  }

  /** Polls `b` until it reads `ended`, failing once `deadline` has passed. */
  async function readEndedBy(
    b: TestApp,
    id: string,
    ended: JobStatusSnapshot,
    deadline: number,
  ) {
    for (;;) {
      const seen = await b.backjob.getStatus(id);
      if (seen?.status === JobStatus.Completed) {
        expect(seen).toEqual(ended);
        return;
      }
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(25);
    }
  }

  function expectOneOutageWarning() {
    // One for the cache, one for the change feed on the same Redis.
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/channel for job changes failed/),
        expect.stringMatching(/cache failed/),
      ]),
    );
    expect(logger.errors).toEqual([]);
  }

  it('the other instance stops serving a job as unfinished within pendingCacheTtl of its end', async () => {
    const { cutOff, other } = await boot(1);
    const { id, ended } = await endWhileCutOff(cutOff, other);
    const bound = ended.endTime!.getTime() + 1000 + 500;
    await readEndedBy(other, id, ended, bound);
    expectOneOutageWarning();
  });

  it('the instance that missed the end drops its entries when Redis is back, with no call to it', async () => {
    // Far longer than the test: only the dropped entry lets the other see the end.
    const { cutOff, other } = await boot(60);
    const { id, ended } = await endWhileCutOff(cutOff, other);
    expect((await other.backjob.getStatus(id))?.status).toBe(
      JobStatus.InProgress,
    );
    fault.restore();
    // The guard retries every 2 s; Redis's client reconnects within 0.5 s.
    await readEndedBy(other, id, ended, Date.now() + 5000);
    expectOneOutageWarning();
  });
});

/** The ids of the jobs kept under `prefix` in the Redis of the tests. */
async function jobIdsIn(prefix: string): Promise<string[]> {
  const client = createClient({ url: serviceUrl('redis') });
  await client.connect();
  try {
    const ids: string[] = [];
    for await (const keys of client.scanIterator({
      MATCH: `${prefix}job:*`,
    }))
      ids.push(...keys.map((key) => key.slice(`${prefix}job:`.length)));
    return ids;
  } finally {
    await client.close();
  }
}

// The cache as the only store, reached through the relay. Runs in the
// postgres+redis project (it needs Redis alone).
describe('a cache that fails as the only store', () => {
  const cachePrefix = `backjob-test:${randomBytes(4).toString('hex')}:`;
  let fault: TcpFault;
  let logger: LineLogger;
  let app: INestApplication;
  let backjob: BackJobService;

  beforeEach(async () => {
    fault = await startTcpFault(serviceUrl('redis'));
    logger = new LineLogger();
    app = await bootApp(
      {
        imports: [
          ScheduleModule.forRoot(),
          redisCacheAt(fault.url),
          BackJobModule.forRoot({
            key: TEST_KEY,
            useDb: false,
            useCache: true,
            cachePrefix,
            cacheTimeout: CACHE_TIMEOUT,
          }),
        ],
        controllers: [CachedController],
      },
      logger,
    );
    backjob = app.get(BackJobService);
  });
  afterEach(async () => {
    fault.restore();
    await app.get<Cache>(CACHE_MANAGER).get('reconnected');
    await app.close();
    await fault.close();
    await deleteRedisKeys(cachePrefix);
  });

  it('hangs: start() rejects within cacheTimeout with JobStoreUnavailableError, one warning per outage, and works again once restored', async () => {
    const before = await backjob.start('cached', { merge: false });
    expect(await waitForJob(backjob, before)).toMatchObject({
      status: JobStatus.Completed,
    });
    fault.hang();

    for (let i = 0; i < 3; i++) {
      const [error, ms] = await timed(
        backjob.start('cached', { merge: false }).then(
          () => null,
          (caught: unknown) => caught,
        ),
      );
      expect(error).toBeInstanceOf(JobStoreUnavailableError);
      expect((error as Error).message).toMatch(/Check that the cache server/);
      expect(ms).toBeLessThan(CACHE_TIMEOUT + 200);
    }
    const [read, readMs] = await timed(
      backjob.getStatus(before).catch((caught: unknown) => caught),
    );
    expect(read).toBeInstanceOf(JobStoreUnavailableError);
    expect(readMs).toBeLessThan(CACHE_TIMEOUT + 200);
    expect(
      logger.warnings.filter((line) => /only store|useDb: false/.test(line)),
    ).toHaveLength(1);

    fault.restore();
    const deadline = Date.now() + 5000;
    let id: string | undefined;
    while (id === undefined) {
      id = await backjob.start('cached', { merge: false }).catch((error) => {
        expect(error).toBeInstanceOf(JobStoreUnavailableError);
        expect(Date.now()).toBeLessThan(deadline);
        return undefined;
      });
      if (id === undefined) await sleep(50);
    }
    expect(await waitForJob(backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'done',
    });
    expect(logger.lines.some((line) => /answers again/.test(line))).toBe(true);

    // The starts that gave up reached Redis once it was back: ended, never run.
    const ghosts = (await jobIdsIn(cachePrefix)).filter(
      (ghost) => ghost !== before && ghost !== id,
    );
    expect(ghosts.length).toBeGreaterThanOrEqual(3);
    for (const ghost of ghosts)
      expect(await waitForJob(backjob, ghost)).toMatchObject({
        status: JobStatus.Failed,
        statusText: expect.stringMatching(/did not answer in time/),
      });
    expect(logger.errors).toEqual([]);
  });
});

/** The app's cache: @nestjs/cache-manager over the Redis at `url` (here, a fault proxy or the real one). */
function redisCacheAt(url: string) {
  return CacheModule.register({ isGlobal: true, stores: [createKeyv(url)] });
}
