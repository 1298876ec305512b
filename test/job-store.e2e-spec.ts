import { createClient } from '@keyv/redis';
import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import {
  BackJobConfigurationError,
  BackJobModule,
  JobStatus,
} from 'nestjs-backjob';
import { BACKJOB_JOB_STORE } from '../libs/backjob/src/backjob.constants.js';
import type {
  JobRecord,
  JobStore,
} from '../libs/backjob/src/storage/job-store.js';
import type { TestAppStore } from './fixtures/store-setup.js';
import { createTestApp, TEST_KEY, type TestApp } from './fixtures/test-app.js';
import { currentTestStore, serviceUrl } from './fixtures/test-stores.js';

@Controller()
class NoRoutes {}

function newJob(overrides: Partial<JobRecord> = {}): JobRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    scope: 'contract',
    progress: 0,
    status: JobStatus.Started,
    startTime: now,
    updatedTime: now,
    endTime: null,
    request: JSON.stringify({ method: 'GET', path: '/x' }),
    statusText: '',
    mergeKey: null,
    ...overrides,
  };
}

const storeOf = (t: TestApp) => t.app.get<JobStore>(BACKJOB_JOB_STORE);
const count = (results: boolean[]) => results.filter(Boolean).length;

// The project's store; on SQLite also the cache-manager memory cache alone
// and beside SQLite, the stores that need no service.
const current = currentTestStore();
const stores: TestAppStore[] =
  current === 'sqlite' ? ['sqlite', 'memory', 'sqlite+memory'] : [current];

describe.each(stores)('the job store on %s', (store) => {
  let t: TestApp;
  let jobs: JobStore;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [NoRoutes], store });
    jobs = storeOf(t);
  });
  afterAll(() => t.close());

  it('gives back what it was given: numbers as numbers, nulls as nulls, a 1 MiB output byte for byte', async () => {
    const job = newJob({ scope: 'ünïcødé 😀', startTime: 1_700_000_000_123 });
    await jobs.insert(job);
    expect(await jobs.find(job.id)).toEqual(job);
    // Past MariaDB's TEXT (64 KiB), with characters of 2 to 4 bytes.
    const output = `${'línea € 😀\n'.repeat(100_000)}end`;
    expect(
      await jobs.saveProgress(
        job.id,
        { progress: 42, statusText: output },
        job.startTime + 5,
      ),
    ).toBe(true);
    const stored = await jobs.find(job.id);
    expect(stored).toMatchObject({
      progress: 42,
      updatedTime: job.startTime + 5,
    });
    expect(stored?.statusText.length).toBe(output.length);
    expect(stored?.statusText === output).toBe(true);
    expect(await jobs.find(randomUUID())).toBeNull();
  });

  it('lets exactly one of many concurrent claims win', async () => {
    const job = newJob();
    await jobs.insert(job);
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => jobs.claim(job.id, Date.now())),
    );
    expect(count(claims)).toBe(1);
    expect((await jobs.find(job.id))?.status).toBe(JobStatus.InProgress);
  });

  it('ends a job once, and no late write changes it afterwards', async () => {
    const job = newJob();
    await jobs.insert(job);
    await jobs.claim(job.id, Date.now());
    const ends = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        jobs.end(
          job.id,
          {
            status: i % 2 ? JobStatus.Failed : JobStatus.Completed,
            statusText: `ending ${i}`,
          },
          Date.now(),
        ),
      ),
    );
    expect(count(ends)).toBe(1);
    const ended = await jobs.find(job.id);
    const winner = ends.indexOf(true);
    expect(ended).toMatchObject({
      status: winner % 2 ? JobStatus.Failed : JobStatus.Completed,
      statusText: `ending ${winner}`,
      endTime: expect.any(Number),
    });
    expect(
      await jobs.saveProgress(
        job.id,
        { progress: 99, statusText: 'late' },
        Date.now(),
      ),
    ).toBe(false);
    expect(await jobs.claim(job.id, Date.now())).toBe(false);
    expect(
      await jobs.end(
        job.id,
        { status: JobStatus.Completed, statusText: 'again' },
        Date.now(),
      ),
    ).toBe(false);
    expect(await jobs.find(job.id)).toEqual(ended);
  });

  it('stores progress that repeats itself within one millisecond', async () => {
    const job = newJob();
    await jobs.insert(job);
    const now = Date.now();
    expect(await jobs.saveProgress(job.id, { progress: 5 }, now)).toBe(true);
    expect(await jobs.saveProgress(job.id, { progress: 5 }, now)).toBe(true);
  });

  it('merges concurrent inserts with one merge key into one pending job, until it ends', async () => {
    const mergeKey = randomUUID().replaceAll('-', '');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => jobs.insert(newJob({ mergeKey }))),
    );
    const holder = results.find((r) => !r.merged)!;
    expect(results.filter((r) => !r.merged)).toHaveLength(1);
    expect(results.every((r) => r.id === holder.id)).toBe(true);
    await jobs.end(
      holder.id,
      { status: JobStatus.Completed, statusText: '' },
      Date.now(),
    );
    expect((await jobs.find(holder.id))?.mergeKey).toBeNull();
    const next = await jobs.insert(newJob({ mergeKey }));
    expect(next.merged).toBe(false);
    expect(next.id).not.toBe(holder.id);
  });

  it('finds the pending jobs without an update or a start since a cutoff, and only those', async () => {
    const now = Date.now();
    const old = newJob({ startTime: now - 60_000, updatedTime: now - 60_000 });
    const updated = newJob({
      startTime: now - 60_000,
      updatedTime: now - 60_000,
    });
    const delayed = newJob({
      startTime: now + 30_000,
      updatedTime: now - 60_000,
    });
    const ended = newJob({
      startTime: now - 60_000,
      updatedTime: now - 60_000,
    });
    for (const job of [old, updated, delayed, ended]) await jobs.insert(job);
    await jobs.saveProgress(updated.id, { progress: 1 }, now);
    await jobs.end(
      ended.id,
      { status: JobStatus.Failed, statusText: '' },
      now - 50_000,
    );
    const stale = await jobs.findStale(now - 10_000, 500);
    expect(stale).toContain(old.id);
    expect(stale).not.toContain(updated.id);
    expect(stale).not.toContain(delayed.id);
    expect(stale).not.toContain(ended.id);
  });
});

// Two apps on one store stand for two instances; an in-memory cache is not
// shared between apps, so it has no second instance to race.
const shared = stores.filter((store) => store !== 'memory');

describe.each(shared)('two instances on %s', (store) => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ controllers: [NoRoutes], store });
    b = await createTestApp({
      controllers: [NoRoutes],
      store,
      sqliteFile: a.sqliteFile,
    });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  it('claim and end a job once between them', async () => {
    for (let round = 0; round < 10; round++) {
      const job = newJob();
      await storeOf(a).insert(job);
      const claims = await Promise.all(
        [a, b, a, b].map((t) => storeOf(t).claim(job.id, Date.now())),
      );
      expect(count(claims)).toBe(1);
      const ends = await Promise.all(
        [a, b].map((t, i) =>
          storeOf(t).end(
            job.id,
            { status: JobStatus.Completed, statusText: `by ${i}` },
            Date.now(),
          ),
        ),
      );
      expect(count(ends)).toBe(1);
    }
  });

  it('never read a job as unfinished once it has ended, whatever reads and late writes race with the end', async () => {
    for (let round = 0; round < 20; round++) {
      const job = newJob();
      await storeOf(a).insert(job);
      await storeOf(a).claim(job.id, Date.now());
      const reads = Array.from({ length: 5 }, () => storeOf(b).find(job.id));
      const late = storeOf(b).saveProgress(
        job.id,
        { progress: 50, statusText: 'late' },
        Date.now(),
      );
      await storeOf(a).end(
        job.id,
        { status: JobStatus.Completed, statusText: 'done' },
        Date.now(),
      );
      await Promise.all([...reads, late]);
      for (const t of [a, b])
        expect(await storeOf(t).find(job.id)).toMatchObject({
          status: JobStatus.Completed,
          statusText: 'done',
        });
    }
  });
});

// The stores where the cache is the only store.
const cacheOnly = stores.filter(
  (store) => store === 'redis' || store === 'memory',
);

describe.each(cacheOnly)('cache entries on %s alone', (store) => {
  const DAY = 24 * 60 * 60 * 1000;

  /** Milliseconds until the job's entry expires; `null` when it never does. */
  async function expiresIn(t: TestApp, id: string): Promise<number | null> {
    const key = `${t.cachePrefix}job:${id}`;
    if (store === 'redis') {
      const client = createClient({ url: serviceUrl('redis') });
      await client.connect();
      try {
        const ms = await client.pTTL(key);
        return ms < 0 ? null : ms;
      } finally {
        await client.close();
      }
    }
    const expires = await t.app.get<Cache>(CACHE_MANAGER).ttl(key);
    return expires ? expires - Date.now() : null;
  }

  it.each([
    [2, 2 * DAY],
    [0, null],
  ])(
    'expire allBacklogDays (%i) after their last write, 0 meaning never',
    async (allBacklogDays, expected) => {
      const t = await createTestApp({
        controllers: [NoRoutes],
        store,
        backjob: { allBacklogDays, backlogDays: 0 },
      });
      try {
        const jobs = storeOf(t);
        const job = newJob();
        await jobs.insert(job);
        await jobs.end(
          job.id,
          { status: JobStatus.Completed, statusText: '' },
          Date.now(),
        );
        const left = await expiresIn(t, job.id);
        if (expected === null) expect(left).toBeNull();
        else {
          expect(left).toBeGreaterThan(expected - 60_000);
          expect(left).toBeLessThanOrEqual(expected);
        }
      } finally {
        await t.close();
      }
    },
  );
});

if (current === 'sqlite')
  describe('useCache without a cache', () => {
    it('stops the boot with a sentence that says what to import', async () => {
      @Module({
        imports: [
          ScheduleModule.forRoot(),
          BackJobModule.forRoot({
            key: TEST_KEY,
            useDb: false,
            useCache: true,
          }),
        ],
      })
      class NoCacheModule {}
      const app = await NestFactory.create(NoCacheModule, {
        logger: false,
        abortOnError: false,
      });
      const boot = app.init();
      await expect(boot).rejects.toThrow(BackJobConfigurationError);
      await expect(boot).rejects.toThrow(
        /nothing is provided under CACHE_MANAGER\. Import CacheModule\.register\(\)/,
      );
      await app.close().catch(() => undefined);
    });
  });
