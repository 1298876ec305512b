import { CacheModule } from '@nestjs/cache-manager';
import { createClient, createKeyv } from '@keyv/redis';
import type { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { JobStatus, type JobStatusSnapshot } from 'nestjs-backjob';
import { filter, firstValueFrom, Subject, tap } from 'rxjs';
import { BackJobContext } from '../libs/backjob/src/backjob.context.js';
import { JobChangeRelay } from '../libs/backjob/src/feed/job-change.relay.js';
import {
  RedisChangeChannel,
  type PubSubClient,
} from '../libs/backjob/src/feed/redis-change.channel.js';
import {
  gates,
  GatedWorkController,
} from './fixtures/gated-work.controller.js';
import { createTestApp, type TestApp } from './fixtures/test-app.js';
import {
  followSteps,
  LiveWorkController,
} from './fixtures/live-work.controller.js';

const TICKS = [10, 20, 30, 40, 50, 60, 70, 80, 90];
const REDIS_URL =
  process.env.BACKJOB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The vitest projects whose store keeps jobs in Redis (see vitest.config.ts). */
const redisProject = (process.env.BACKJOB_TEST_STORE ?? '').includes('redis');

function progressSeen(snapshots: JobStatusSnapshot[]): number[] {
  return snapshots
    .map((s) => s.progress)
    .filter((p, i, all) => i === 0 || p !== all[i - 1]);
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(1000);
    socket.on('connect', () => (socket.destroy(), resolve(true)));
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => (socket.destroy(), resolve(false)));
  });
}

/** Two instances of one app: `runner` runs the jobs, `watcher` watches them. */
async function twoInstances(
  extra: Partial<Parameters<typeof createTestApp>[0]>,
): Promise<{ runner: TestApp; watcher: TestApp; close(): Promise<void> }> {
  const runner = await createTestApp({
    controllers: [LiveWorkController],
    ...extra,
  });
  const watcher = await createTestApp({
    controllers: [LiveWorkController],
    ...extra,
    sqliteFile: runner.sqliteFile,
  });
  return {
    runner,
    watcher,
    close: async () => {
      await watcher.close();
      await runner.close();
    },
  };
}

describe('watch() across instances', () => {
  it("gives a second watcher the other instance's changes outside the first watcher's request", async () => {
    const { runner, watcher, close } = await twoInstances({
      backjob: { watchPollInterval: 40 },
    });
    try {
      const name = `two-watchers-${Date.now()}`;
      const id = await runner.backjob.start([
        `live-work/stepped/${name}`,
        { n: 3 },
      ]);
      // The first watcher subscribes within a request of its caller's, and
      // sets the job's feed going there.
      const first = BackJobContext.instance.run(
        { headers: { cookie: 'user=first' } },
        () => watcher.backjob.watch(id).subscribe(),
      );
      const seenIn: unknown[] = [];
      const second = watcher.backjob
        .watch(id)
        .pipe(tap(() => seenIn.push(BackJobContext.instance.state)));
      const snapshots = await followSteps(second, name, 3);
      first.unsubscribe();
      expect(progressSeen(snapshots)).toEqual(
        expect.arrayContaining([10, 20, 30]),
      );
      expect(seenIn.filter((state) => state !== undefined)).toEqual([]);
    } finally {
      await close();
    }
  });

  it("sees the progress of a job that another instance runs, and its end, over the project's store", async () => {
    const { runner, watcher, close } = await twoInstances({
      backjob: { watchPollInterval: 40 },
    });
    try {
      // Pushed when the jobs live in Redis (the Redis projects), else polled.
      const pushed = watcher.app.get(JobChangeRelay).pushesRemoteChanges;
      expect(pushed).toBe(redisProject);
      const name = `across-${Date.now()}`;
      const id = await runner.backjob.start([
        `live-work/stepped/${name}`,
        { n: 9 },
      ]);
      const snapshots = await followSteps(watcher.backjob.watch(id), name, 9);
      const seen = progressSeen(snapshots);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.filter((p) => TICKS.includes(p))).toEqual(TICKS);
      expect(snapshots[snapshots.length - 1]).toMatchObject({
        status: JobStatus.Completed,
        statusText: 'done',
      });
    } finally {
      await close();
    }
  });
});

// In the Redis projects the test above already runs over Redis; elsewhere
// this one adds a Redis cache to the project's database.
const redisUp = !redisProject && (await reachable(REDIS_URL));
const redisMissing = `nothing answers at ${REDIS_URL}. Start Redis or set BACKJOB_TEST_REDIS_URL.`;
if (!redisProject && !redisUp) {
  if (process.env.CI === 'true') {
    throw new Error(
      `The Redis publish/subscribe test of watch() cannot run: ${redisMissing}`,
    );
  }
  console.warn(
    `Skipping the Redis publish/subscribe test of watch(): ${redisMissing}`,
  );
}

// Not even listed in the Redis projects, where the test above covers it.
if (!redisProject)
  describe.runIf(redisUp)('watch() and shutdowns, over Redis', () => {
    it('pushes every progress value to a watcher in another instance', async () => {
      const { runner, watcher, close } = await twoInstances({
        // Polling would take a minute: whatever arrives sooner was pushed.
        backjob: { useCache: true, watchPollInterval: 60_000 },
        imports: [
          CacheModule.register({
            isGlobal: true,
            stores: [createKeyv(REDIS_URL)],
          }),
        ],
      });
      try {
        expect(runner.app.get(JobChangeRelay).pushesRemoteChanges).toBe(true);
        expect(watcher.app.get(JobChangeRelay).pushesRemoteChanges).toBe(true);
        const name = `pushed-${Date.now()}`;
        const id = await runner.backjob.start([
          `live-work/stepped/${name}`,
          { n: 9 },
        ]);
        const snapshots = await followSteps(watcher.backjob.watch(id), name, 9);
        expect(
          progressSeen(snapshots).filter((p) => TICKS.includes(p)),
        ).toEqual(TICKS);
        expect(snapshots[snapshots.length - 1]).toMatchObject({
          status: JobStatus.Completed,
          statusText: 'done',
        });
      } finally {
        await close();
      }
    });

    it("publishes on a connection of its own, which outlives the cache's client (closed as Nest destroys the cache module, before a shutdown's endings)", async () => {
      const cacheClient = createClient({ url: REDIS_URL });
      await cacheClient.connect();
      const listener = cacheClient.duplicate();
      await listener.connect();
      const name = `backjob-test-${randomUUID()}`;
      const heard: string[] = [];
      await listener.subscribe(name, (message) => void heard.push(message));
      const endings = new Subject<string>();
      const warnings: unknown[] = [];
      const channel = await RedisChangeChannel.open(
        cacheClient as unknown as PubSubClient,
        name,
        { changes: new Subject<string>(), endings },
        {
          warn: (message: unknown) => warnings.push(message),
        } as unknown as Logger,
      );
      try {
        await cacheClient.close();
        const jobId = randomUUID();
        endings.next(jobId);
        const deadline = Date.now() + 5000;
        while (!heard.some((message) => message.endsWith(`${jobId} ended`))) {
          expect(warnings).toEqual([]);
          expect(Date.now()).toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      } finally {
        await channel.close();
        await listener.close();
      }
    });

    it("leaves no connection to the cache's Redis open once closed, though its shutdown wrote an ending after the cache module had closed its client", async () => {
      const redisSockets = () =>
        (
          process as unknown as {
            _getActiveHandles(): { remotePort?: number }[];
          }
        )
          ._getActiveHandles()
          .filter(
            (handle) =>
              handle.remotePort === Number(new URL(REDIS_URL).port || 6379),
          ).length;
      const before = redisSockets();
      const app = await createTestApp({
        controllers: [GatedWorkController],
        backjob: { useCache: true, shutdownGracePeriod: 0.2 },
        imports: [
          CacheModule.register({
            isGlobal: true,
            stores: [createKeyv(REDIS_URL)],
          }),
        ],
      });
      const name = `reopened-${Date.now()}`;
      try {
        await app.backjob.start(['gated/hold', { name }]);
        const deadline = Date.now() + 10_000;
        while (!gates.reached.has(name)) {
          expect(Date.now()).toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await app.close();
        expect(redisSockets()).toBe(before);
      } finally {
        gates.open(name);
      }
    });

    it('tells the other instance of a job that its shutdown interrupted, as of any other ending', async () => {
      const options = {
        controllers: [GatedWorkController],
        backjob: {
          useCache: true,
          watchPollInterval: 60_000,
          shutdownGracePeriod: 0.2,
        },
        // The cache's client is disconnected before the shutdown's writes
        // (Nest destroys modules first): BackJob publishes on its own.
        imports: [
          CacheModule.register({
            isGlobal: true,
            stores: [createKeyv(REDIS_URL)],
          }),
        ],
      };
      // The watcher owns the store: the runner closes first.
      const watcher = await createTestApp(options);
      const name = `interrupted-${Date.now()}`;
      try {
        const runner = await createTestApp({
          ...options,
          sqliteFile: watcher.sqliteFile,
        });
        const id = await runner.backjob.start(['gated/hold', { name }]);
        const ended = firstValueFrom(
          watcher.backjob.events().pipe(filter((job) => job.id === id)),
        );
        const deadline = Date.now() + 10_000;
        while (!gates.reached.has(name)) {
          expect(Date.now()).toBeLessThan(deadline);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await runner.close();
        expect(await ended).toMatchObject({
          status: JobStatus.Failed,
          statusText: expect.stringContaining('interrupted by shutdown'),
        });
      } finally {
        gates.open(name);
        await watcher.close();
      }
    });
  });
