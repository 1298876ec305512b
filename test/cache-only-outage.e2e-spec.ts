import { createKeyv } from '@keyv/redis';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import { Controller, Get, Query, type INestApplication } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import {
  BackgroundWorker,
  BackJobModule,
  BackJobService,
  JobStatus,
  JobStoreUnavailableError,
} from 'nestjs-backjob';
import { BACKJOB_JOB_STORE } from '../libs/backjob/src/backjob.constants.js';
import { JobEndings } from '../libs/backjob/src/lifecycle/job-lifecycle.js';
import type {
  JobRecord,
  JobStore,
} from '../libs/backjob/src/storage/job-store.js';
import { bootApp, RecordingLogger } from './fixtures/boot.js';
import {
  gates,
  GatedWorkController,
} from './fixtures/gated-work.controller.js';
import {
  describeWithRedisServer,
  TestRedisServer,
  type RedisPersistence,
} from './fixtures/redis-server.js';
import { TEST_KEY, waitForJob } from './fixtures/test-app.js';

// The cache as the only store (useDb: false), on a redis-server of the
// test's own that each test freezes, stops or kills and restarts. It needs
// no shared service: it runs once, in the sqlite project (vitest.config.ts).

// Long enough that a loaded two-core machine does not make an outage of a
// slow answer (a second warning), short enough to wait for.
const CACHE_TIMEOUT = 300;
// What a bounded call may take beyond cacheTimeout on a loaded machine.
const SLACK_MS = 250;

let handlerRuns = 0;

@Controller('cached-only')
class CachedOnlyController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @BackgroundWorker()
  run(@Query('tag') tag = '') {
    handlerRuns++;
    this.backjob.update(50, 'working');
    return `done${tag}`;
  }
}

/** The rejection of `work`, and how long it took to come (a resolution fails the test). */
async function rejectionOf(
  work: () => Promise<unknown>,
): Promise<[unknown, number]> {
  const started = performance.now();
  const error = await work().then(
    (value) => {
      throw new Error(`Expected a rejection, got ${JSON.stringify(value)}.`);
    },
    (caught: unknown) => caught,
  );
  return [error, performance.now() - started];
}

/** A job record for a direct call to the store. */
function aRecord(): JobRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    scope: '',
    progress: 0,
    status: JobStatus.Started,
    startTime: now,
    updatedTime: now,
    endTime: null,
    request: JSON.stringify({ method: 'GET', path: '/cached-only', query: '' }),
    statusText: '',
    mergeKey: null,
    anonymous: true,
    result: null,
    retryOf: null,
  };
}

/** Every call of the store contract, each to be bounded when the cache hangs. */
const STORE_CALLS: [
  string,
  (store: JobStore, id: string) => Promise<unknown>,
][] = [
  ['insert', (store) => store.insert(aRecord())],
  ['find', (store, id) => store.find(id)],
  ['claim', (store, id) => store.claim(id, Date.now())],
  [
    'saveProgress',
    (store, id) => store.saveProgress(id, { progress: 5 }, Date.now()),
  ],
  [
    'end',
    (store, id) => store.end(id, JobEndings.failed('', 'test'), Date.now()),
  ],
  ['touchWaiting', (store, id) => store.touchWaiting([id], Date.now())],
  ['takeOver', (store, id) => store.takeOver(id, Date.now(), Date.now())],
  ['findStale', (store) => store.findStale(Date.now(), 10)],
  [
    'deleteEnded',
    (store) =>
      store.deleteEnded([
        { statuses: [JobStatus.Completed], endedBefore: Date.now() },
      ]),
  ],
  ['list', (store) => store.list({ limit: 10 })],
  ['counts', (store) => store.counts()],
];

describeWithRedisServer(
  'the cache as the only store, when its Redis fails',
  () => {
    let redis: TestRedisServer | undefined;
    let app: INestApplication | undefined;
    let logger: RecordingLogger;
    let backjob: BackJobService;

    async function boot(
      persistence: RedisPersistence,
      cacheTimeout = CACHE_TIMEOUT,
    ) {
      redis = await TestRedisServer.start(persistence);
      logger = new RecordingLogger();
      app = await bootApp(
        {
          imports: [
            ScheduleModule.forRoot(),
            CacheModule.register({
              isGlobal: true,
              stores: [createKeyv(redis.url())],
            }),
            BackJobModule.forRoot({
              key: TEST_KEY,
              useDb: false,
              useCache: true,
              cacheTimeout,
            }),
          ],
          controllers: [CachedOnlyController, GatedWorkController],
        },
        logger,
      );
      backjob = app.get(BackJobService);
      return { redis, app };
    }

    afterEach(async () => {
      // The app closes its Redis client with a QUIT that needs an answer.
      if (redis && !redis.running) await redis.restart();
      redis?.resume();
      await app?.close();
      await redis?.close();
      app = redis = undefined;
    });

    /** The store's warnings of an outage, and its lines saying the cache is back. */
    const outageWarnings = () =>
      logger.warnings.filter((line) =>
        line.startsWith(
          "BackJob's cache, where it keeps jobs (useDb: false), failed",
        ),
      );
    const recoveries = () =>
      logger.lines.filter((line) => /cache answers again/.test(line));

    /** Starts jobs until one is accepted, as a caller that retries would; every refusal must be the named error. */
    async function startOnceItAnswers(tag: string): Promise<string> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          return await backjob.start(['cached-only', { tag }], {
            merge: false,
          });
        } catch (error) {
          expect(error).toBeInstanceOf(JobStoreUnavailableError);
          expect(Date.now()).toBeLessThan(deadline);
        }
      }
    }

    it('hangs (SIGSTOP): every store call rejects within cacheTimeout with JobStoreUnavailableError, one warning per outage, and the starts that gave up never run', async () => {
      const { redis, app } = await boot('none');
      const store = app.get<JobStore>(BACKJOB_JOB_STORE);
      const before = await backjob.start('cached-only', { merge: false });
      expect(await waitForJob(backjob, before)).toMatchObject({
        status: JobStatus.Completed,
      });
      const runsBefore = handlerRuns;
      const accepted = [before];

      for (const outage of [1, 2]) {
        redis.pause();
        const publicCalls: [string, () => Promise<unknown>][] = [
          ['start', () => backjob.start('cached-only', { merge: false })],
          ['getStatus', () => backjob.getStatus(before)],
          ['getScope', () => backjob.getScope(before)],
          ['jobExists', () => backjob.jobExists(before)],
          ['cancel', () => backjob.cancel(before)],
          ['list', () => backjob.list()],
          ['counts', () => backjob.counts()],
          ['retry', () => backjob.retry(before)],
        ];
        const storeCalls = STORE_CALLS.map(
          ([name, call]) =>
            [`store.${name}`, () => call(store, before)] as [
              string,
              () => Promise<unknown>,
            ],
        );
        // All at once, as callers would come: each is bounded on its own.
        const outcomes = await Promise.all(
          [...publicCalls, ...storeCalls].map(
            async ([name, call]) =>
              [name, ...(await rejectionOf(call))] as const,
          ),
        );
        for (const [name, error, ms] of outcomes) {
          expect(error, name).toBeInstanceOf(JobStoreUnavailableError);
          expect((error as Error).message, name).toMatch(
            /did not answer within 300 ms \(cacheTimeout\).*Check that the cache server/,
          );
          expect(ms, name).toBeLessThan(CACHE_TIMEOUT + SLACK_MS);
        }
        // cleanup() is what the cron runs: bounded too, it reports and goes on.
        const cleanupStarted = performance.now();
        expect(await backjob.cleanup()).toBe(0);
        expect(performance.now() - cleanupStarted).toBeLessThan(
          CACHE_TIMEOUT + SLACK_MS,
        );
        expect(logger.warnings.at(-1)).toMatch(
          /backlog cleanup failed: .*did not answer within 300 ms/,
        );
        expect(outageWarnings()).toHaveLength(outage);

        redis.resume();
        const id = await startOnceItAnswers(String(outage));
        accepted.push(id);
        expect(await waitForJob(backjob, id)).toMatchObject({
          status: JobStatus.Completed,
          statusText: `done${outage}`,
        });
        expect(recoveries()).toHaveLength(outage);
      }

      // What the frozen server was sent, it ran once it ran again: the
      // records of the starts that gave up, each ended behind it, never run.
      const ghosts = (await jobIds(redis)).filter(
        (id) => !accepted.includes(id),
      );
      // One refused start() and one store.insert per outage, and any start
      // that gave up as the server came back.
      expect(ghosts.length).toBeGreaterThanOrEqual(4);
      for (const ghost of ghosts)
        expect(await backjob.getStatus(ghost)).toMatchObject({
          status: JobStatus.Failed,
          statusText: expect.stringMatching(
            /did not answer in time, and start\(\) failed/,
          ) as unknown,
        });
      // The two starts that were accepted ran; no other.
      expect(handlerRuns - runsBefore).toBe(2);
      expect(logger.errors).toEqual([]);
    });

    it('restarts without persistence (SIGTERM): start() fails while it is down and writes nothing later, and the jobs kept before are gone, as the README warns', async () => {
      const { redis, app } = await boot('none');
      const before = await backjob.start('cached-only', { merge: false });
      expect(await waitForJob(backjob, before)).toMatchObject({
        status: JobStatus.Completed,
      });

      await redis.stop('SIGTERM');
      await clientSawItGo(app);
      const [error, ms] = await rejectionOf(() =>
        backjob.start('cached-only', { merge: false }),
      );
      expect(error).toBeInstanceOf(JobStoreUnavailableError);
      expect(ms).toBeLessThan(CACHE_TIMEOUT + SLACK_MS);
      expect(outageWarnings()).toHaveLength(1);

      await redis.restart();
      // Once the client is connected again, a start() must succeed at once:
      // none may be left to give up as the server comes back.
      await clientIsBack(app);
      const after = await backjob.start(['cached-only', { tag: 'after' }], {
        merge: false,
      });
      expect(await waitForJob(backjob, after)).toMatchObject({
        status: JobStatus.Completed,
        statusText: 'doneafter',
      });
      expect(await backjob.getStatus(before)).toBeNull();
      // The start() that gave up while the client reconnected sent nothing.
      expect(await jobIds(redis)).toEqual([after]);
      expect(recoveries()).toHaveLength(1);
      expect(logger.errors).toEqual([]);
    });

    it('restarts after a crash (SIGKILL) with appendonly on: the jobs written before are all there, and a running one still ends', async () => {
      const { redis } = await boot('aof');
      const ended = await waitForJob(
        backjob,
        await backjob.start('cached-only', { merge: false }),
      );
      const running = await backjob.start(['gated/hold', { name: 'crash' }], {
        merge: false,
      });
      await waitForJob(
        backjob,
        running,
        (status) => status.status === JobStatus.InProgress,
      );

      await redis.stop('SIGKILL');
      await redis.restart();
      // Read again once the app's client has reconnected.
      const deadline = Date.now() + 10_000;
      let read: unknown;
      while (!read) {
        read = await backjob.getStatus(ended.id).catch((caught: unknown) => {
          expect(caught).toBeInstanceOf(JobStoreUnavailableError);
          expect(Date.now()).toBeLessThan(deadline);
          return undefined;
        });
      }
      expect(read).toEqual(ended);

      gates.open('crash');
      expect(await waitForJob(backjob, running)).toMatchObject({
        status: JobStatus.Completed,
        statusText: 'released:crash',
      });
      expect(logger.errors).toEqual([]);
    });

    it('a start() that waits out an outage within cacheTimeout gets the times of its write, and its job runs', async () => {
      const { redis, app } = await boot('none', 10_000);
      await redis.stop('SIGTERM');
      const client = await clientSawItGo(app);

      const calledAt = Date.now();
      const started = backjob.start(['cached-only', { tag: 'late' }], {
        merge: false,
      });
      // The outage lasts two failed reconnections after the call: the second
      // comes 150 ms or more after the first (the client's backoff).
      // (events.once would reject on the client's 'error' events.)
      for (let i = 0; i < 2; i++)
        await new Promise((resolve) => client.once('reconnecting', resolve));
      const restartedAt = Date.now();
      await redis.restart();
      const id = await started;

      const status = await backjob.getStatus(id);
      expect(restartedAt - calledAt).toBeGreaterThanOrEqual(100);
      // Not the time start() was called: the time Redis could take the write.
      expect(status!.startTime.getTime()).toBeGreaterThanOrEqual(restartedAt);
      expect(status!.updatedTime.getTime()).toBeGreaterThanOrEqual(restartedAt);
      expect(await waitForJob(backjob, id)).toMatchObject({
        status: JobStatus.Completed,
        statusText: 'donelate',
      });
      expect(logger.errors).toEqual([]);
    });
  },
);

/** The ids of the jobs in `redis` (the default cachePrefix). */
async function jobIds(redis: TestRedisServer): Promise<string[]> {
  const keys = (await redis.command('KEYS', 'backjob:job:*')) as string[];
  return keys.map((key) => key.slice('backjob:job:'.length));
}

/**
 * Waits until the app's Redis client has seen its connection go: until
 * then it would send a write into the closed socket, and fail at once,
 * rather than wait for the next connection.
 */
async function clientSawItGo(app: INestApplication) {
  const client = redisClientOf(app);
  while (client.isReady) await new Promise((resolve) => setImmediate(resolve));
  return client;
}

/** Waits until the app's Redis client is connected again. */
async function clientIsBack(app: INestApplication) {
  const client = redisClientOf(app);
  while (!client.isReady)
    await new Promise((resolve) => client.once('ready', resolve));
}

/** The node-redis client behind the app's cache. */
function redisClientOf(app: INestApplication): EventEmitter & {
  isReady: boolean;
} {
  const cache = app.get<{
    stores: { store: { client: EventEmitter & { isReady: boolean } } }[];
  }>(CACHE_MANAGER);
  return cache.stores[0].store.client;
}
