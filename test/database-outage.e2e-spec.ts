import { Controller, Get, Param, Post, UseFilters } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  BackgroundWorker,
  BackJobExceptionFilter,
  BackJobService,
  JobStatus,
  JobStoreUnavailableError,
  type JobStatusSnapshot,
} from 'nestjs-backjob';
import { JobDrain } from '../libs/backjob/src/flow/job-drain.js';
import { ENDING_TEXTS } from '../libs/backjob/src/lifecycle/job-lifecycle.js';
import { RecordingLogger } from './fixtures/boot.js';
import { gates } from './fixtures/gated-work.controller.js';
import { startTcpFault, type TcpFault } from './fixtures/tcp-proxy.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
  type TestAppOptions,
} from './fixtures/test-app.js';
import { currentTestStore, serviceUrl } from './fixtures/test-stores.js';

@Controller('outage')
class OutageController {
  constructor(private readonly backjob: BackJobService) {}

  /** Reports 10 %, waits at its gate, then returns what it did. */
  @Get(':gate')
  @BackgroundWorker()
  async held(@Param('gate') gate: string) {
    this.backjob.update(10, 'holding');
    await gates.wait(gate);
    return { done: gate };
  }

  /** Like `held`, and says when its signal aborts. */
  @Get('signalled/:gate')
  @BackgroundWorker()
  async signalled(@Param('gate') gate: string) {
    const signal = this.backjob.signal();
    signal.addEventListener('abort', () => aborted.add(gate));
    this.backjob.update(10, 'holding');
    await gates.wait(gate);
    return { done: gate };
  }

  /** A route of the app's that lists the jobs, its errors answered by the filter. */
  @Get('jobs/all')
  @UseFilters(BackJobExceptionFilter)
  listAll() {
    return this.backjob.list();
  }

  /** A route of the app's that starts that job, its errors answered by the filter. */
  @Post(':gate')
  @UseFilters(BackJobExceptionFilter)
  async startHeld(@Param('gate') gate: string) {
    return { id: await this.backjob.start(`outage/${gate}`) };
  }
}

const FINAL = (s: JobStatusSnapshot) => s.status >= JobStatus.Completed;
/** The gates of the handlers whose signal aborted. */
const aborted = new Set<string>();
const RETRYING =
  /could not store the final status of job .* yet: .*keeps trying every 2 s for up to errorTimeout \(30 s\)/;
const store = currentTestStore();
// The stores whose database is a server of its own, which a test can stop,
// pause or lock: SQLite runs in the process.
const withDatabaseServer = describe.runIf(
  store === 'postgres' || store === 'mariadb' || store === 'postgres+redis',
);

// The databases that run as servers, which a TCP relay can take away;
// SQLite is a file of the process, and Redis alone has tests of its own
// outages (cache-only-outage).
withDatabaseServer(`a database outage while a job ends (${store})`, () => {
  it('longer than the quick retries still stores what the job did once the database is back, within errorTimeout', async () => {
    await withRelayedDatabase(
      { errorTimeout: 30 },
      async ({ t, fault, logger, gate }) => {
        const id = await t.backjob.start(`outage/${gate}`);
        await waitForJob(t.backjob, id, (s) => s.progress === 10);
        fault.cut();
        // The handler returns while the database is away: its ending fails.
        gates.open(gate);
        // The outage lasts until the four quick attempts any other ending
        // gets (about 4.2 s) have failed, which the warning says: then the
        // database comes back, far within errorTimeout.
        await expect
          .poll(() => logger.warnings.join('\n'), {
            timeout: 20_000,
            interval: 50,
          })
          .toMatch(RETRYING);
        fault.restore();
        expect(await waitForJob(t.backjob, id, FINAL, 15_000)).toMatchObject({
          status: JobStatus.Completed,
          result: { done: gate },
        });
        expect(logger.errors.join('\n')).not.toMatch(/final status/);
        // The monitor's watchdog read the job every second while the database
        // was away: one warning for the outage (none with Redis beside it,
        // where it reads the job from the cache).
        expect(
          logger.warnings.filter((line) =>
            line.includes(`could not read job ${id} to watch over it`),
          ),
        ).toHaveLength(store === 'postgres+redis' ? 0 : 1);
      },
    );
  }, 60_000);

  it('longer than what is left of errorTimeout does not end the job as timed out here while its ending is on its way', async () => {
    const errorTimeoutMs = 10_000;
    await withRelayedDatabase(
      { errorTimeout: errorTimeoutMs / 1000 },
      async ({ t, fault, logger, gate }) => {
        const id = await t.backjob.start(`outage/${gate}`);
        const held = await waitForJob(t.backjob, id, (s) => s.progress === 10);
        const lastSignOfLife = held.updatedTime.getTime();
        fault.cut();
        // The handler returns 5 s after its last write: its ending is tried
        // until 5 s after the row turns stale.
        await untilClock(lastSignOfLife + errorTimeoutMs / 2);
        gates.open(gate);
        await expect
          .poll(() => logger.warnings.join('\n'), {
            timeout: 20_000,
            interval: 50,
          })
          .toMatch(/could not store the final status of job .* yet/);
        // The database comes back once the row reads stale, and the next
        // attempt (every 2 s) is still ahead.
        await untilClock(lastSignOfLife + errorTimeoutMs + 200);
        fault.restore();
        // Reading the job applies the staleness rule: without the ending under
        // way counted as a sign of life, this read ends it as timed out.
        expect((await t.backjob.getStatus(id))?.status).toBe(
          JobStatus.InProgress,
        );
        expect(await waitForJob(t.backjob, id, FINAL, 15_000)).toMatchObject({
          status: JobStatus.Completed,
          result: { done: gate },
        });
      },
    );
  }, 60_000);
});

describe.runIf(store === 'postgres' || store === 'mariadb')(
  `a database outage while a job is watched (${store})`,
  () => {
    // With the database alone, watch() reads the store every
    // watchPollInterval; with Redis beside it (postgres+redis), the changes
    // come over pub/sub and the reads from the cache, so no read would fail.
    it('keeps the streams of its watchers open, and they get the ending once the database is back', async () => {
      await withRelayedDatabase({}, async ({ t, fault, logger, gate }) => {
        const seen: JobStatusSnapshot[] = [];
        let failure: unknown;
        let completed = false;
        const id = await t.backjob.start(`outage/${gate}`);
        await waitForJob(t.backjob, id, (s) => s.progress === 10);
        const watching = t.backjob.watch(id).subscribe({
          next: (snapshot) => seen.push(snapshot),
          error: (error: unknown) => (failure = error),
          complete: () => (completed = true),
        });
        try {
          await expect.poll(() => seen.length).toBeGreaterThan(0);
          fault.cut();
          await expect
            .poll(() => logger.warnings.join('\n'), {
              timeout: 10_000,
              interval: 50,
            })
            .toContain(`could not read job ${id} for its watchers`);
          expect(failure).toBeUndefined();
          fault.restore();
          gates.open(gate);
          await expect
            .poll(() => completed || failure !== undefined, {
              timeout: 15_000,
            })
            .toBe(true);
          expect(failure).toBeUndefined();
          expect(seen.at(-1)).toMatchObject({
            status: JobStatus.Completed,
            result: { done: gate },
          });
          expect(
            logger.warnings.filter((line) =>
              line.includes(`could not read job ${id} for its watchers`),
            ),
          ).toHaveLength(1);
        } finally {
          watching.unsubscribe();
        }
      });
    }, 60_000);
  },
);

withDatabaseServer(
  `a database that hangs while a job starts (${store})`,
  () => {
    it('makes start() reject within requestTimeout with JobStoreUnavailableError, and the record that lands later is ended, never run', async () => {
      await withRelayedDatabase(
        { requestTimeout: 1 },
        async ({ t, fault, gate }) => {
          fault.hang();
          const began = Date.now();
          const failure = await t.backjob.start(`outage/${gate}`).then(
            (id) => new Error(`start() recorded job ${id}`),
            (error: unknown) => error,
          );
          expect(failure).toBeInstanceOf(JobStoreUnavailableError);
          expect((failure as Error).message).toMatch(
            /did not record the job within 1 s \(requestTimeout\)/,
          );
          // Within requestTimeout, with room for a loaded machine; without the
          // bound, start() waits as long as the database hangs.
          expect(Date.now() - began).toBeLessThan(5_000);
          // What the connection held arrives now: the record, then its ending.
          fault.restore();
          let jobs: JobStatusSnapshot[] = [];
          await expect
            .poll(
              async () => {
                jobs = (await t.backjob.list()).jobs;
                return jobs.map((job) => job.status);
              },
              { timeout: 15_000 },
            )
            .toEqual([JobStatus.Failed]);
          expect(jobs[0].statusText).toContain('after start() had given up');
          expect(gates.reached.has(gate)).toBe(false);
        },
      );
    }, 60_000);
  },
);

withDatabaseServer(
  `a database that hangs during a graceful shutdown (${store})`,
  () => {
    it("ends BackJob's part within the grace period and requestTimeout, stops the handler, says what it could not record, and the ending lands once the database answers", async () => {
      const graceSeconds = 0.3;
      await withRelayedDatabase(
        { shutdownGracePeriod: graceSeconds, requestTimeout: 1 },
        async ({ t, fault, logger, gate }) => {
          const id = await t.backjob.start(`outage/signalled/${gate}`);
          await waitForJob(t.backjob, id, (s) => s.progress === 10);
          fault.hang();
          const began = Date.now();
          // BackJob's shutdown hook alone: the data source's own close (TypeORM's
          // pool) waits for a database that hangs, whatever BackJob does.
          const drained = t.app.get(JobDrain).onModuleDestroy();
          const outcome = await Promise.race([
            drained.then(() => 'drained'),
            new Promise((resolve) => setTimeout(resolve, 10_000, 'hung')),
          ]);
          expect(outcome).toBe('drained');
          // The grace period plus requestTimeout, with room for a loaded
          // machine; without the bound, the drain waits as long as the
          // database hangs.
          expect(Date.now() - began).toBeLessThan(
            graceSeconds * 1000 + 1000 + 3000,
          );
          expect(aborted.has(gate)).toBe(true);
          expect(logger.errors.join('\n')).toMatch(
            /shutdown could not record what became of 1 job\(s\): the store did not take the write within 1 s \(requestTimeout\)/,
          );
          // The write it gave up on was sent: it lands once the database answers.
          fault.restore();
          expect(await waitForJob(t.backjob, id, FINAL, 15_000)).toMatchObject({
            status: JobStatus.Failed,
            statusText: `holding\n${ENDING_TEXTS.interrupted}`,
          });
        },
      );
    }, 60_000);
  },
);

withDatabaseServer(
  `a database that hangs while jobs are read (${store})`,
  () => {
    it('makes getStatus() and list() reject within requestTimeout with JobStoreUnavailableError, and reads work again once it answers', async () => {
      await withRelayedDatabase({ requestTimeout: 1 }, async ({ t, fault }) => {
        const unknownId = randomUUID();
        fault.hang();
        const began = Date.now();
        const failures = await Promise.all(
          [t.backjob.getStatus(unknownId), t.backjob.list()].map((read) =>
            read.then(
              (value) =>
                new Error(`the read answered ${JSON.stringify(value)}`),
              (error: unknown) => error,
            ),
          ),
        );
        for (const failure of failures) {
          expect(failure).toBeInstanceOf(JobStoreUnavailableError);
          expect((failure as Error).message).toMatch(
            /did not answer a read of its jobs within 1 s \(requestTimeout\)/,
          );
        }
        // Within requestTimeout, with room for a loaded machine; without the
        // bound, both wait as long as the database hangs.
        expect(Date.now() - began).toBeLessThan(5_000);
        fault.restore();
        expect(await t.backjob.getStatus(unknownId)).toBeNull();
        expect((await t.backjob.list()).jobs).toEqual([]);
      });
    }, 60_000);
  },
);

// With the cache, cancel() reads the job from Redis and only its write
// reaches the database: the one place where a hang meets the write alone.
describe.runIf(store === 'postgres+redis')(
  `a database that hangs while a job is cancelled (${store})`,
  () => {
    it('makes cancel() reject within requestTimeout with JobStoreUnavailableError, and the cancel lands once the database answers', async () => {
      await withRelayedDatabase(
        { requestTimeout: 1 },
        async ({ t, fault, gate }) => {
          const id = await t.backjob.start(`outage/${gate}`);
          await waitForJob(t.backjob, id, (s) => s.progress === 10);
          fault.hang();
          const began = Date.now();
          const failure = await t.backjob.cancel(id, 'no longer wanted').then(
            (cancelled) => new Error(`cancel() answered ${cancelled}`),
            (error: unknown) => error,
          );
          expect(failure).toBeInstanceOf(JobStoreUnavailableError);
          expect((failure as Error).message).toMatch(
            /did not record the job's ending within 1 s \(requestTimeout\)/,
          );
          // Within requestTimeout, with room for a loaded machine; without
          // the bound, cancel() waits as long as the database hangs.
          expect(Date.now() - began).toBeLessThan(5_000);
          fault.restore();
          expect(await waitForJob(t.backjob, id, FINAL, 15_000)).toMatchObject({
            status: JobStatus.Cancelled,
          });
        },
      );
    }, 60_000);
  },
);

// A database can answer reads while a write waits: here another
// transaction holds the job's row lock, as a long one of the app's might.
withDatabaseServer(`a job row locked while it is read (${store})`, () => {
  it('makes getStatus() of a stale job reject within requestTimeout with JobStoreUnavailableError, and the job ends as timed out once the lock goes', async () => {
    const errorTimeoutMs = 2_000;
    const t = await createTestApp({
      controllers: [OutageController],
      backjob: { requestTimeout: 1, errorTimeout: errorTimeoutMs / 1000 },
    });
    const gate = `outage-${randomUUID()}`;
    const locker = t.app
      .get<DataSource>(getDataSourceToken())
      .createQueryRunner();
    try {
      const id = await t.backjob.start(`outage/${gate}`);
      const held = await waitForJob(t.backjob, id, (s) => s.progress === 10);
      await locker.connect();
      await locker.startTransaction();
      await locker.query(
        `SELECT id FROM ${t.tableName} WHERE id = '${id}' FOR UPDATE`,
      );
      // The handler reports nothing more: its row reads stale once
      // errorTimeout has passed, and reading it ends it as timed out.
      await untilClock(held.updatedTime.getTime() + errorTimeoutMs + 200);
      const began = Date.now();
      const failure = await t.backjob.getStatus(id).then(
        (snapshot) =>
          new Error(`getStatus() answered ${JSON.stringify(snapshot)}`),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(JobStoreUnavailableError);
      expect((failure as Error).message).toMatch(
        /did not record the job's ending within 1 s \(requestTimeout\)/,
      );
      // Without the bound, getStatus() waits as long as the lock is held.
      expect(Date.now() - began).toBeLessThan(5_000);
      await locker.rollbackTransaction();
      expect(await waitForJob(t.backjob, id, FINAL, 15_000)).toMatchObject({
        status: JobStatus.Failed,
        statusText: `holding\n${ENDING_TEXTS.timedOut}`,
      });
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      gates.open(gate);
      await t.close();
    }
  }, 60_000);
});

withDatabaseServer(
  `a database that is down while a job starts (${store})`,
  () => {
    it("makes start() reject with JobStoreUnavailableError, the driver's error as its cause, and nothing runs", async () => {
      await withRelayedDatabase({}, async ({ t, fault, gate }) => {
        fault.cut();
        const failure = await t.backjob.start(`outage/${gate}`).then(
          (id) => new Error(`start() recorded job ${id}`),
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(JobStoreUnavailableError);
        expect((failure as Error).message).toMatch(
          /^BackJob's database could not record the job: .+\. The job will not run: check that the database is running/,
        );
        expect((failure as Error).cause).toBeInstanceOf(Error);
        fault.restore();
        expect((await t.backjob.list()).jobs).toEqual([]);
        expect(gates.reached.has(gate)).toBe(false);
      });
    }, 60_000);

    it("answers a route that starts a job 503 through BackJobExceptionFilter, without the driver's words, and logs them", async () => {
      await withRelayedDatabase({}, async ({ t, fault, logger, gate }) => {
        fault.cut();
        const answer = await fetch(`${t.url}/outage/${gate}`, {
          method: 'POST',
        });
        expect(answer.status).toBe(503);
        const body = (await answer.json()) as { message: string };
        expect(body.message).toBe(
          'Jobs cannot be started or read right now: their store is not answering. Try again in a little while.',
        );
        expect(logger.errors.join('\n')).toMatch(
          /BackJob's database could not record the job: .+\. The job will not run/,
        );
        fault.restore();
        expect(gates.reached.has(gate)).toBe(false);
      });
    }, 60_000);
  },
);

withDatabaseServer(
  `a database that is down while jobs are read (${store})`,
  () => {
    it("makes list() reject with JobStoreUnavailableError, the driver's error as its cause, and a route answers 503 through BackJobExceptionFilter", async () => {
      await withRelayedDatabase({}, async ({ t, fault }) => {
        fault.cut();
        const failure = await t.backjob.list().then(
          () => new Error('list() answered'),
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(JobStoreUnavailableError);
        expect((failure as Error).message).toMatch(
          /^BackJob's database could not read its jobs: .+\. Check that the database is running/,
        );
        expect((failure as Error).cause).toBeInstanceOf(Error);
        expect((await fetch(`${t.url}/outage/jobs/all`)).status).toBe(503);
        fault.restore();
        expect((await t.backjob.list()).jobs).toEqual([]);
      });
    }, 60_000);
  },
);

interface RelayedDatabase {
  t: TestApp;
  fault: TcpFault;
  logger: RecordingLogger;
  /** The gate of this test's handler (`outage/<gate>`): open when it may return. */
  gate: string;
}

/**
 * An app on this project's database reached through a TCP relay that the
 * test can cut or hang, with a recording logger; everything is restored,
 * opened and closed afterwards, whatever the test did.
 */
async function withRelayedDatabase(
  backjob: TestAppOptions['backjob'],
  test: (relayed: RelayedDatabase) => Promise<void>,
): Promise<void> {
  const fault = await startTcpFault(
    serviceUrl(store === 'mariadb' ? 'mariadb' : 'postgres'),
  );
  const logger = new RecordingLogger();
  const gate = `outage-${randomUUID()}`;
  try {
    const t = await createTestApp({
      controllers: [OutageController],
      databaseUrl: fault.url,
      logger,
      backjob,
    });
    try {
      await test({ t, fault, logger, gate });
    } finally {
      fault.restore();
      gates.open(gate);
      await t.close();
    }
  } finally {
    await fault.close();
  }
}

/** Resolves once the wall clock reads `epochMs`: the staleness rule reads it. */
async function untilClock(epochMs: number): Promise<void> {
  const wait = epochMs - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
