import { createClient } from '@keyv/redis';
import { CACHE_MANAGER, type Cache } from '@nestjs/cache-manager';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  BackJobConfigurationError,
  BackJobModule,
  JobStatus,
} from 'nestjs-backjob';
import {
  BACKJOB_JOB_STORE,
  BACKJOB_RESOLVED_OPTIONS,
} from '../libs/backjob/src/backjob.constants.js';
import type { ResolvedBackJobOptions } from '../libs/backjob/src/backjob.options.js';
import {
  JobEndings,
  RELEASED_SIGN_OF_LIFE,
  type JobEnding,
  type RetentionRule,
  retentionRules,
  staleCutoff,
} from '../libs/backjob/src/lifecycle/job-lifecycle.js';
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
    anonymous: false,
    result: null,
    retryOf: null,
    ...overrides,
  };
}

const storeOf = (t: TestApp) => t.app.get<JobStore>(BACKJOB_JOB_STORE);

/**
 * Counts the statements the app's PostgreSQL or SQLite data source runs
 * from now on (each one is logged, whatever runs it); undefined on the other
 * stores: MariaDB writes claims and ends one by one, the cache alone has no
 * SQL.
 */
function statementCounter(t: TestApp, store: TestAppStore) {
  if (!store.startsWith('postgres') && !store.startsWith('sqlite'))
    return undefined;
  const spy = vi.spyOn(t.app.get(DataSource).logger, 'logQuery');
  return Object.assign(() => spy.mock.calls.length, {
    stop: () => spy.mockRestore(),
  });
}
const count = (results: boolean[]) => results.filter(Boolean).length;

// The project's store; on SQLite also the cache-manager memory cache alone
// and beside SQLite, the stores that need no service.
const current = currentTestStore();
const stores: TestAppStore[] =
  current === 'sqlite' ? ['sqlite', 'memory', 'sqlite+memory'] : [current];

describe.each(stores)('the job store on %s', (store) => {
  const DAY = 24 * 60 * 60 * 1000;
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

  it('claims and ends many jobs at once, each with its own ending, and on PostgreSQL and SQLite in a few statements', async () => {
    const many = Array.from({ length: 30 }, (_, i) => newJob({ progress: i }));
    await Promise.all(many.map((job) => jobs.insert(job)));
    const statements = statementCounter(t, store);
    const claims = await Promise.all([
      ...many.map((job) => jobs.claim(job.id, Date.now())),
      jobs.claim(many[0].id, Date.now()),
    ]);
    expect(claims).toEqual([...many.map(() => true), false]);
    const endingOf = (i: number): JobEnding =>
      i % 2
        ? { status: JobStatus.Failed, statusText: `failed ${i}` }
        : {
            status: JobStatus.Completed,
            statusText: `done ${i}`,
            progress: 100,
            result: JSON.stringify({ i }),
          };
    const ends = await Promise.all(
      many.map((job, i) => jobs.end(job.id, endingOf(i), Date.now())),
    );
    expect(count(ends)).toBe(many.length);
    const written = statements?.();
    statements?.stop();
    const stored = await Promise.all(many.map((job) => jobs.find(job.id)));
    stored.forEach((job, i) =>
      expect(job).toMatchObject({
        ...endingOf(i),
        // An ending without progress or a result keeps the job's own.
        progress: i % 2 ? i : 100,
        result: i % 2 ? null : JSON.stringify({ i }),
        mergeKey: null,
      }),
    );
    // One claim and one end each go alone while nothing is written; the
    // rest arrive meanwhile (on SQLite: in the same turn of the event loop)
    // and go together (61 statements one by one).
    if (written !== undefined) expect(written).toBeLessThan(10);
  });

  it('records a burst of inserts in groups, each group all or nothing: a row refused in a later statement of a group leaves none of the group behind', async () => {
    const held = newJob({ mergeKey: randomUUID().replaceAll('-', '') });
    await jobs.insert(held);
    // The first goes alone; the next ones arrive meanwhile and go together,
    // in statements of a few hundred rows. Row 300 is in the second
    // statement of its group and merges into the held job.
    const burst = Array.from({ length: 450 }, (_, i) =>
      newJob(i === 300 ? { mergeKey: held.mergeKey } : { progress: i % 100 }),
    );
    const statements = statementCounter(t, store);
    const results = await Promise.all(burst.map((job) => jobs.insert(job)));
    const refusedGroupStatements = statements?.();
    statements?.stop();
    results.forEach((result, i) =>
      expect(result).toEqual(
        i === 300
          ? { id: held.id, merged: true }
          : { id: burst[i].id, merged: false },
      ),
    );
    const stored = await Promise.all(burst.map((job) => jobs.find(job.id)));
    stored.forEach((job, i) =>
      i === 300 ? expect(job).toBeNull() : expect(job).toEqual(burst[i]),
    );
    // Without the conflict the burst takes a few statements; a refused
    // group is written again row by row (a few hundred).
    if (refusedGroupStatements !== undefined)
      expect(refusedGroupStatements).toBeGreaterThan(100);
    const clean = Array.from({ length: 450 }, () => newJob());
    const cleanStatements = statementCounter(t, store);
    await Promise.all(clean.map((job) => jobs.insert(job)));
    const cleanCount = cleanStatements?.();
    cleanStatements?.stop();
    if (cleanCount !== undefined) expect(cleanCount).toBeLessThan(15);
    expect(
      (await Promise.all(clean.map((job) => jobs.find(job.id)))).every(
        (job) => job !== null,
      ),
    ).toBe(true);
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

  it('finds the pending jobs without a sign of life (an update, a heartbeat) since a cutoff, and only those', async () => {
    const now = Date.now();
    const old = newJob({ startTime: now - 60_000, updatedTime: now - 60_000 });
    const updated = newJob({
      startTime: now - 60_000,
      updatedTime: now - 60_000,
    });
    // Delayed, and its heartbeat renewed: alive however far its start is.
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
    await jobs.touchWaiting([delayed.id], now);
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

  it('keeps whether a job runs anonymously', async () => {
    const anonymous = newJob({ anonymous: true });
    const asUser = newJob({ anonymous: false });
    await jobs.insert(anonymous);
    await jobs.insert(asUser);
    expect(await jobs.find(anonymous.id)).toEqual(anonymous);
    expect(await jobs.find(asUser.id)).toEqual(asUser);
    await jobs.claim(anonymous.id, Date.now());
    expect((await jobs.find(anonymous.id))?.anonymous).toBe(true);
  });

  it.each([
    ['a waiting job', false],
    ['a running job', true],
  ])('ends %s as cancelled, after which it is fenced off', async (_, run) => {
    const job = newJob({ mergeKey: randomUUID().replaceAll('-', '') });
    await jobs.insert(job);
    if (run) await jobs.claim(job.id, Date.now());
    const ending = JobEndings.cancelled('so far', 'no longer needed');
    expect(await jobs.end(job.id, ending, Date.now())).toBe(true);
    const cancelled = await jobs.find(job.id);
    expect(cancelled).toMatchObject({
      status: JobStatus.Cancelled,
      statusText: 'so far\ncancelled: no longer needed',
      endTime: expect.any(Number),
      mergeKey: null,
    });
    expect(await jobs.claim(job.id, Date.now())).toBe(false);
    expect(await jobs.saveProgress(job.id, { progress: 9 }, Date.now())).toBe(
      false,
    );
    expect(
      await jobs.end(job.id, JobEndings.completed('late'), Date.now()),
    ).toBe(false);
    expect(await jobs.find(job.id)).toEqual(cancelled);
  });

  it('renews the heartbeat of the waiting jobs among the ids only, and releases them as stale', async () => {
    const now = Date.now();
    const then = now - 60_000;
    const [waiting, otherWaiting, running, ended, elsewhere] = Array.from(
      { length: 5 },
      () => newJob({ startTime: then, updatedTime: then }),
    );
    for (const job of [waiting, otherWaiting, running, ended, elsewhere])
      await jobs.insert(job);
    await jobs.claim(running.id, then);
    await jobs.end(ended.id, JobEndings.failed(''), then);
    const ids = [
      waiting.id,
      otherWaiting.id,
      running.id,
      ended.id,
      randomUUID(),
    ];
    await jobs.touchWaiting(ids, now);
    expect((await jobs.find(waiting.id))?.updatedTime).toBe(now);
    expect((await jobs.find(otherWaiting.id))?.updatedTime).toBe(now);
    expect((await jobs.find(running.id))?.updatedTime).toBe(then);
    expect(await jobs.find(ended.id)).toMatchObject({
      status: JobStatus.Failed,
      updatedTime: then,
    });
    expect((await jobs.find(elsewhere.id))?.updatedTime).toBe(then);
    const cutoff = staleCutoff(now, 10);
    let stale = await jobs.findStale(cutoff, 500);
    expect(stale).not.toContain(waiting.id);
    expect(stale).toContain(running.id);
    expect(stale).toContain(elsewhere.id);

    await jobs.touchWaiting([waiting.id], RELEASED_SIGN_OF_LIFE);
    // Its start is now its last sign of life: a minute ago.
    stale = await jobs.findStale(cutoff, 500);
    expect(stale).toContain(waiting.id);
    expect(stale).not.toContain(otherWaiting.id);
    await jobs.touchWaiting([], now);
  });

  it('lets one of many instances take a stale waiting job over, and none a fresh or running one', async () => {
    const now = Date.now();
    const then = now - 60_000;
    const cutoff = staleCutoff(now, 10);
    const stale = newJob({
      startTime: then,
      updatedTime: then,
      anonymous: true,
      result: null,
      retryOf: null,
    });
    await jobs.insert(stale);
    const takes = await Promise.all(
      Array.from({ length: 10 }, () => jobs.takeOver(stale.id, cutoff, now)),
    );
    expect(count(takes)).toBe(1);
    expect(await jobs.find(stale.id)).toMatchObject({
      status: JobStatus.Started,
      updatedTime: now,
    });
    expect(await jobs.findStale(cutoff, 500)).not.toContain(stale.id);
    // Taken over, it is fresh again.
    expect(await jobs.takeOver(stale.id, cutoff, now + 1)).toBe(false);

    const fresh = newJob({ startTime: then, updatedTime: now });
    const delayed = newJob({ startTime: now + 60_000, updatedTime: now });
    const running = newJob({ startTime: then, updatedTime: then });
    const ended = newJob({ startTime: then, updatedTime: then });
    for (const job of [fresh, delayed, running, ended]) await jobs.insert(job);
    await jobs.claim(running.id, then);
    await jobs.end(ended.id, JobEndings.cancelled(''), then);
    for (const job of [fresh, delayed, running, ended])
      expect(await jobs.takeOver(job.id, cutoff, now)).toBe(false);
    expect(await jobs.takeOver(randomUUID(), cutoff, now)).toBe(false);
    expect((await jobs.find(running.id))?.updatedTime).toBe(then);
  });

  it('deletes the ended jobs that the retention rules cover, cancelled ones included, and never a pending one', async () => {
    // The app's own retention, which the TTLs of a cache beside the
    // database follow too.
    const { backlogDays, allBacklogDays } = t.app.get<ResolvedBackJobOptions>(
      BACKJOB_RESOLVED_OPTIONS,
    );
    const now = Date.now();
    const long = now - (allBacklogDays + 10) * DAY;
    const endedAgo = async (ending: JobEnding, days: number) => {
      const job = newJob({ startTime: long, updatedTime: long });
      await jobs.insert(job);
      await jobs.end(job.id, ending, now - days * DAY);
      return job.id;
    };
    const completed = JobEndings.completed('');
    const failed = JobEndings.failed('');
    const cancelled = JobEndings.cancelled('');
    const gone = [
      await endedAgo(completed, backlogDays + 1),
      await endedAgo(failed, allBacklogDays + 1),
      await endedAgo(cancelled, allBacklogDays + 1),
    ];
    const kept = [
      await endedAgo(completed, backlogDays - 1),
      await endedAgo(failed, backlogDays + 1),
      await endedAgo(cancelled, backlogDays + 1),
    ];
    const pending = newJob({ startTime: long, updatedTime: long });
    await jobs.insert(pending);

    expect(
      await jobs.deleteEnded(retentionRules(now, backlogDays, allBacklogDays)),
    ).toBe(3);
    for (const id of gone) expect(await jobs.find(id)).toBeNull();
    for (const id of [...kept, pending.id])
      expect(await jobs.find(id)).not.toBeNull();

    const cancelledOnly: RetentionRule[] = [
      { statuses: [JobStatus.Cancelled], endedBefore: now - backlogDays * DAY },
    ];
    expect(await jobs.deleteEnded(cancelledOnly)).toBe(1);
    expect(await jobs.deleteEnded(cancelledOnly)).toBe(0);
    expect(await jobs.deleteEnded([])).toBe(0);
  });

  it('lists a scope newest first, ties by id, pages without a gap or a repeat, filters by status, and counts', async () => {
    const scope = `list-${randomUUID()}`;
    const base = Date.now();
    // Three share one start time: only the id orders them.
    const times = [base, base + 1, base + 1, base + 1, base + 2, base + 3];
    const inserted: JobRecord[] = [];
    for (const startTime of times) {
      const job = newJob({ scope, startTime, updatedTime: startTime });
      await jobs.insert(job);
      inserted.push(job);
    }
    await jobs.insert(newJob({ scope: `${scope}-other` }));
    await jobs.end(inserted[0].id, JobEndings.failed('', 'no'), base + 10);
    await jobs.end(
      inserted[4].id,
      { ...JobEndings.completed('out', '{"n":4}') },
      base + 10,
    );
    await jobs.claim(inserted[5].id, base + 11);

    const expected = [...inserted]
      .sort((a, b) =>
        a.startTime !== b.startTime
          ? b.startTime - a.startTime
          : a.id < b.id
            ? 1
            : -1,
      )
      .map((job) => job.id);
    const page1 = await jobs.list({ scope, limit: 4 });
    const last = page1[page1.length - 1];
    const page2 = await jobs.list({
      scope,
      limit: 4,
      after: { startTime: last.startTime, id: last.id },
    });
    expect([...page1, ...page2].map((job) => job.id)).toEqual(expected);
    expect(page1[0]).toEqual(
      expect.objectContaining({
        id: inserted[5].id,
        status: JobStatus.InProgress,
      }),
    );

    const completed = await jobs.list({
      scope,
      statuses: [JobStatus.Completed],
      limit: 10,
    });
    expect(completed.map((job) => [job.id, job.result])).toEqual([
      [inserted[4].id, '{"n":4}'],
    ]);
    expect(
      (
        await jobs.list({
          scope,
          statuses: [JobStatus.Started, JobStatus.Failed],
          limit: 10,
        })
      ).map((job) => job.id),
    ).toEqual(
      expected.filter((id) => ![inserted[4].id, inserted[5].id].includes(id)),
    );
    expect((await jobs.list({ limit: 1000 })).map((job) => job.id)).toEqual(
      expect.arrayContaining(expected),
    );

    expect(await jobs.counts(scope)).toEqual({
      [JobStatus.Started]: 3,
      [JobStatus.InProgress]: 1,
      [JobStatus.Completed]: 1,
      [JobStatus.Failed]: 1,
    });
    const all = await jobs.counts();
    expect(all[JobStatus.Started]).toBeGreaterThanOrEqual(4);
    expect(await jobs.counts(`${scope}-none`)).toEqual({});
  });

  it('drops deleted jobs from the listing and the counts', async () => {
    const scope = `deleted-${randomUUID()}`;
    const long = Date.now() - 1000 * DAY;
    const job = newJob({ scope, startTime: long, updatedTime: long });
    await jobs.insert(job);
    await jobs.end(job.id, JobEndings.cancelled(''), long);
    expect((await jobs.list({ scope, limit: 5 })).map((j) => j.id)).toEqual([
      job.id,
    ]);
    await jobs.deleteEnded([
      { statuses: [JobStatus.Cancelled], endedBefore: long + 1 },
    ]);
    expect(await jobs.list({ scope, limit: 5 })).toEqual([]);
    expect(await jobs.counts(scope)).toEqual({});
  });
});

// Two apps on one store stand for two instances; an in-memory cache is not
// shared between apps, so it has no second instance to race.
const shared = stores.filter((store) => store !== 'memory');

describe.each(shared)('two instances on %s', (store) => {
  // Beside the database, the memory store is a cache of each instance's own.
  const ownCaches = store === 'sqlite+memory';
  const PENDING_CACHE_TTL = 0.2;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    const backjob = { pendingCacheTtl: PENDING_CACHE_TTL };
    a = await createTestApp({ controllers: [NoRoutes], store, backjob });
    b = await createTestApp({
      controllers: [NoRoutes],
      store,
      sqliteFile: a.sqliteFile,
      backjob,
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
    const done: JobEnding = { status: JobStatus.Completed, statusText: 'done' };
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
      await storeOf(a).end(job.id, done, Date.now());
      await Promise.all([...reads, late]);
      expect(await storeOf(a).find(job.id)).toMatchObject(done);
      if (!ownCaches) {
        expect(await storeOf(b).find(job.id)).toMatchObject(done);
        continue;
      }
      // A cache of b's own may hold what b read or wrote before the end,
      // and serves it until its pendingCacheTtl runs out (README, Redis).
      await expect
        .poll(() => storeOf(b).find(job.id), {
          timeout: PENDING_CACHE_TTL * 1000 + 5_000,
          interval: 20,
        })
        .toMatchObject(done);
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
