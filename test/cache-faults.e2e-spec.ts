import { createKeyv } from '@keyv/redis';
import { CACHE_MANAGER, CacheModule, type Cache } from '@nestjs/cache-manager';
import { Controller, Get, Query } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  BackgroundWorker,
  BackJobService,
  JobStatus,
  type JobStatusSnapshot,
} from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import {
  gates,
  GatedWorkController,
} from './fixtures/gated-work.controller.js';
import {
  describeWithRedisServer,
  TestRedisServer,
  type RedisPersistence,
} from './fixtures/redis-server.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { sleep } from './fixtures/work.controller.js';

// PostgreSQL with a Redis in front of it: a redis-server of the test's own
// that each test freezes (SIGSTOP), kills and restarts, or shuts one
// instance out of (ACL), never the Redis the other tests share. Runs in the
// postgres+redis project (vitest.config.ts).

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

/** Resolves with the result and how long it took. */
async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, performance.now() - started];
}

/** The app's cache: @nestjs/cache-manager over the Redis at `url`. */
function redisCacheAt(url: string) {
  return CacheModule.register({ isGlobal: true, stores: [createKeyv(url)] });
}

/** Closes `app` once its Redis client has its connection back: closing one that still reconnects waits for it. */
async function closeReconnected(app: TestApp | undefined) {
  if (!app) return;
  await app.app.get<Cache>(CACHE_MANAGER).get('reconnected');
  await app.close();
}

/** Starts a job that holds until its gate opens; resolves once `reader` reads it running. */
async function startHeld(starter: TestApp, reader: TestApp) {
  const gate = randomUUID();
  const id = await starter.backjob.start(['gated/hold', { name: gate }], {
    merge: false,
  });
  await waitForJob(
    reader.backjob,
    id,
    (status) => status.status === JobStatus.InProgress,
  );
  return { id, release: () => gates.open(gate) };
}

/** Polls `reader` until it reads the job ended, failing once `deadline` has passed. */
async function readEndedBy(
  reader: TestApp,
  id: string,
  ended: JobStatusSnapshot,
  deadline: number,
) {
  for (;;) {
    const seen = await reader.backjob.getStatus(id);
    if (seen?.status === JobStatus.Completed) {
      expect(seen).toEqual(ended);
      return;
    }
    expect(Date.now()).toBeLessThan(deadline);
    await sleep(25);
  }
}

/** What a crashed Redis comes back with for the job: its cached InProgress entry, which no instance could update. */
async function expectCachedInProgress(
  redis: TestRedisServer,
  app: TestApp,
  id: string,
) {
  expect(
    await redis.peek('HGET', `${app.cachePrefix}job:${id}`, 'status'),
  ).toBe(String(JobStatus.InProgress));
}

const cacheWarnings = (logger: RecordingLogger) =>
  logger.warnings.filter((line) => /BackJob's cache failed/.test(line));
const cacheRecoveries = (logger: RecordingLogger) =>
  logger.lines.filter((line) => /BackJob's cache answers again/.test(line));

describeWithRedisServer('a cache that fails beside the database', () => {
  let redis: TestRedisServer | undefined;
  let logger: RecordingLogger;
  let t: TestApp | undefined;

  async function boot(persistence: RedisPersistence) {
    redis = await TestRedisServer.start(persistence);
    logger = new RecordingLogger();
    t = await createTestApp({
      controllers: [CachedController, GatedWorkController],
      store: 'postgres',
      logger,
      imports: [redisCacheAt(redis.url())],
      backjob: { useCache: true, cacheTimeout: CACHE_TIMEOUT },
    });
    return { redis, t };
  }

  afterEach(async () => {
    redis?.resume();
    if (redis && !redis.running) await redis.restart();
    await closeReconnected(t);
    await redis?.close();
    redis = t = undefined;
  });

  for (const [name, breakIt] of [
    ['hangs (SIGSTOP)', (r: TestRedisServer) => r.pause()],
    ['goes down (SIGKILL)', (r: TestRedisServer) => r.stop('SIGKILL')],
  ] as const) {
    it(`${name}: jobs run and are read through the database, no caller waits longer than cacheTimeout, and one warning says so`, async () => {
      const { redis, t } = await boot('none');
      const before = await t.backjob.start('cached', { merge: false });
      await waitForJob(t.backjob, before);
      await breakIt(redis);

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
      expect(cacheWarnings(logger)).toHaveLength(1);
      expect(cacheWarnings(logger)[0]).toMatch(
        /Jobs are read from and written to the database alone/,
      );
      expect(logger.errors).toEqual([]);
    });
  }

  it('never serves a job as unfinished once it ended, when the cache missed the end and comes back with it (appendonly, SIGKILL)', async () => {
    // With appendonly the job's cached InProgress entry survives the crash:
    // only the instance dropping it can keep it from being served.
    const { redis, t } = await boot('aof');
    const { id, release } = await startHeld(t, t);
    await redis.stop('SIGKILL');
    release();
    const ended = await waitForJob(t.backjob, id);
    expect(ended).toMatchObject({ status: JobStatus.Completed });

    await expectCachedInProgress(redis, t, id);
    await redis.restart();
    const deadline = Date.now() + 10_000;
    while (cacheRecoveries(logger).length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      expect(await t.backjob.getStatus(id)).toEqual(ended);
      await sleep(25);
    }
    for (let i = 0; i < 20; i++) {
      expect(await t.backjob.getStatus(id)).toEqual(ended);
      await sleep(10);
    }
    expect(logger.errors).toEqual([]);
  });
});

// Two instances on one table and one Redis, each with its own connection.
describeWithRedisServer('two instances beside the database, one Redis', () => {
  // Only the first instance connects as this user: disabling it and killing
  // its connections shuts that instance out of Redis, and no other (its
  // reconnections fail to authenticate, and the default user has a
  // password, so they get nothing).
  const CUT_OFF = { name: 'backjob-cut-off', password: randomUUID() };
  let redis: TestRedisServer | undefined;
  let logger: RecordingLogger;
  let first: TestApp | undefined;
  let second: TestApp | undefined;

  async function boot(
    pendingCacheTtl: number,
    persistence: RedisPersistence,
    firstConnectsAs?: typeof CUT_OFF,
  ) {
    redis = await TestRedisServer.start(persistence);
    await redis.command(
      'ACL',
      'SETUSER',
      CUT_OFF.name,
      'on',
      `>${CUT_OFF.password}`,
      '~*',
      '&*',
      '+@all',
    );
    logger = new RecordingLogger();
    const backjob = {
      useCache: true,
      cacheTimeout: CACHE_TIMEOUT,
      pendingCacheTtl,
    };
    first = await createTestApp({
      controllers: [CachedController, GatedWorkController],
      store: 'postgres',
      logger,
      imports: [redisCacheAt(redis.url(firstConnectsAs))],
      backjob,
    });
    second = await createTestApp({
      controllers: [CachedController, GatedWorkController],
      store: 'postgres',
      sqliteFile: first.sqliteFile,
      // Nest's logger is one per process: both apps share it.
      logger,
      imports: [redisCacheAt(redis.url())],
      backjob,
    });
    return { redis, first, second };
  }

  const shutOut = async (r: TestRedisServer) => {
    await r.command('ACL', 'SETUSER', CUT_OFF.name, 'off');
    await r.command('CLIENT', 'KILL', 'USER', CUT_OFF.name);
  };
  const letIn = (r: TestRedisServer) =>
    r.command('ACL', 'SETUSER', CUT_OFF.name, 'on');

  afterEach(async () => {
    if (redis && !redis.running) await redis.restart();
    if (redis) await letIn(redis);
    await closeReconnected(second);
    await closeReconnected(first);
    await redis?.close();
    redis = first = second = undefined;
  });

  /** Starts a job on `first`, lets `second` read it running, shuts `first` out, and returns it ended. */
  async function endWhileShutOut(first: TestApp, second: TestApp) {
    const { id, release } = await startHeld(first, second);
    await shutOut(redis!);
    release();
    const ended = await waitForJob(first.backjob, id);
    expect(ended).toMatchObject({ status: JobStatus.Completed });
    return { id, ended };
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

  it('when one loses its connection, the other stops serving a job as unfinished within pendingCacheTtl of its end', async () => {
    const { first, second } = await boot(1, 'none', CUT_OFF);
    const { id, ended } = await endWhileShutOut(first, second);
    const bound = ended.endTime!.getTime() + 1000 + 500;
    await readEndedBy(second, id, ended, bound);
    expectOneOutageWarning();
  });

  it('when one loses its connection, it drops the entries it could not update once Redis lets it in again, with no call to it', async () => {
    // Far longer than the test: only the dropped entry lets the other see the end.
    const { redis, first, second } = await boot(60, 'none', CUT_OFF);
    const { id, ended } = await endWhileShutOut(first, second);
    expect((await second.backjob.getStatus(id))?.status).toBe(
      JobStatus.InProgress,
    );
    await letIn(redis);
    // The guard retries every 2 s; the client reconnects within 2 s.
    await readEndedBy(second, id, ended, Date.now() + 6000);
    expectOneOutageWarning();
  });

  it('when Redis crashes and comes back with its entries (appendonly), an instance that read the end meanwhile never serves the job unfinished again', async () => {
    const { redis, first, second } = await boot(60, 'aof');
    const { id, release } = await startHeld(first, second);
    expect((await second.backjob.getStatus(id))?.status).toBe(
      JobStatus.InProgress,
    );
    await redis.stop('SIGKILL');
    release();
    const ended = await waitForJob(first.backjob, id);
    // The second instance reads it from the database while Redis is away.
    await readEndedBy(second, id, ended, Date.now() + 5000);

    // Redis comes back with the InProgress entry, for 60 s more.
    await expectCachedInProgress(redis, first, id);
    await redis.restart();
    const deadline = Date.now() + 10_000;
    while (cacheRecoveries(logger).length < 2) {
      expect(Date.now()).toBeLessThan(deadline);
      expect(await second.backjob.getStatus(id)).toEqual(ended);
      await sleep(25);
    }
    for (let i = 0; i < 20; i++) {
      expect(await second.backjob.getStatus(id)).toEqual(ended);
      expect(await first.backjob.getStatus(id)).toEqual(ended);
      await sleep(10);
    }
    expect(cacheWarnings(logger)).toHaveLength(2);
    expect(logger.errors).toEqual([]);
  });
});
