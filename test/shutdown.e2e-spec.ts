// SQLite only: child processes of the lifecycle app share one SQLite file
// (declared in vitest.config.ts's SQLITE_ONLY).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { BackJobShutdownError, JobStatus } from 'nestjs-backjob';
import { shuttingDownMessage } from '../libs/backjob/src/backjob.messages.js';
import {
  ENDING_TEXTS,
  isPendingStatus,
} from '../libs/backjob/src/lifecycle/job-lifecycle.js';
import {
  gates,
  GatedWorkController,
} from './fixtures/gated-work.controller.js';
import {
  pollUntil,
  useLifecycleChildren,
  readJobs,
  readRecord,
  type LifecycleProcess,
} from './fixtures/lifecycle-process.js';
import { createTestApp } from './fixtures/test-app.js';

const { files, child, entered } = useLifecycleChildren('backjob-shutdown-');

/** The shutdown has begun once the child's start() is refused with BackJobShutdownError. */
function shutdownBegun(app: LifecycleProcess) {
  return pollUntil(
    async () =>
      (await app.probeStart().catch(() => '')) === 'BackJobShutdownError',
    () => `start() was never refused:\n${app.output()}`,
  );
}

/** The child's one summary line of the shutdown. */
function summaryLine(app: LifecycleProcess): string {
  const lines = app
    .output()
    .split('\n')
    .filter((line) => line.includes('BackJob shut down:'));
  expect(lines, app.output()).toHaveLength(1);
  return lines[0];
}

function report(figure: string): void {
  if (process.env.BACKJOB_TEST_FIGURES) console.log(figure);
}

describe('graceful shutdown on SIGTERM (SQLite, child processes)', () => {
  it('lets a running job that ends within the grace period complete, then exits', async () => {
    const app = await child({ shutdownGracePeriod: 5 });
    const id = await app.startJob('drained', { anonymous: true });
    await entered(app, 'drained');

    const killedAt = Date.now();
    app.child.kill('SIGTERM');
    // Released only once the drain holds it, so that it is the drain that
    // waits for it, not a handler that ended before the shutdown.
    await shutdownBegun(app);
    await app.openGate('drained');
    await app.exited;
    const exitMs = Date.now() - killedAt;
    report(`drain: exited ${exitMs} ms after SIGTERM`);

    const job = readJobs(files().sqliteFile).get(id)!;
    expect(job.status, app.output()).toBe(JobStatus.Completed);
    expect(job.status_text).toBe('done:drained');
    expect(summaryLine(app)).toContain(
      'BackJob shut down: 1 running job(s) finished, 0 interrupted',
    );
    // It did not sit out the grace period.
    expect(exitMs).toBeLessThan(5000);
  });

  it('interrupts a handler that outlives the grace period, lets go of the waiting jobs, and a new instance takes the anonymous one over', async () => {
    const graceSeconds = 1;
    const app = await child({
      shutdownGracePeriod: graceSeconds,
      maxConcurrentJobs: 1,
      errorTimeout: 5,
    });
    const stubborn = await app.startJob('stubborn', {
      cookie: 'session=stubborn',
      ignoreSignal: true,
    });
    await entered(app, 'stubborn');
    // Queued behind it (maxConcurrentJobs: 1): one as the user, one anonymous.
    const asUser = await app.startJob('as-user', { cookie: 'session=user' });
    const anonymous = await app.startJob('anonymous', {
      cookie: 'session=user',
      anonymous: true,
    });
    const before = readJobs(files().sqliteFile);
    expect(before.get(stubborn)?.status).toBe(JobStatus.InProgress);
    expect(before.get(asUser)).toMatchObject({
      status: JobStatus.Started,
      anonymous: 0,
    });
    expect(before.get(anonymous)).toMatchObject({
      status: JobStatus.Started,
      anonymous: 1,
    });

    const killedAt = Date.now();
    app.child.kill('SIGTERM');
    await app.exited;
    const exitMs = Date.now() - killedAt;
    report(`interrupt: exited ${exitMs} ms after SIGTERM (grace 1 s)`);
    // The grace period, then at most a second for the drain to end the job
    // and the server and the database to close; 2.5 s more for a loaded
    // machine to tear the process down (Node's own exit takes ~50-100 ms).
    expect(exitMs, app.output()).toBeLessThan(
      graceSeconds * 1000 + 1000 + 2500,
    );
    // The drain did wait for the handler before interrupting it.
    expect(exitMs).toBeGreaterThanOrEqual(graceSeconds * 1000);

    const rows = readJobs(files().sqliteFile);
    expect(rows.get(stubborn)?.status, app.output()).toBe(JobStatus.Failed);
    expect(
      rows.get(stubborn)?.status_text.endsWith(ENDING_TEXTS.interrupted),
    ).toBe(true);
    expect(rows.get(asUser)).toMatchObject({
      status: JobStatus.Failed,
      status_text: ENDING_TEXTS.notStartedBeforeShutdown,
    });
    // Left Started for another instance, with a sign of life so old that
    // the next sweep takes it.
    expect(rows.get(anonymous)).toMatchObject({
      status: JobStatus.Started,
      updated_time: 0,
    });
    // Nothing else of that instance is left pending.
    const pending = [...rows.values()].filter((row) =>
      isPendingStatus(row.status),
    );
    expect(pending.map((row) => row.id)).toEqual([anonymous]);

    // The handler's signal aborted, with the shutdown as its reason.
    const aborted = readRecord(files().recordFile).find(
      (e) => e.event === 'aborted' && e.name === 'stubborn',
    );
    expect(aborted, app.output()).toMatchObject({ aborted: true });
    expect(aborted?.reason).toContain(ENDING_TEXTS.interrupted);
    // The job's own cookie reached the handler: it ran as the user.
    expect(
      readRecord(files().recordFile).find(
        (e) => e.event === 'entered' && e.name === 'stubborn',
      )?.cookie,
    ).toBe('session=stubborn');

    expect(summaryLine(app)).toContain(
      'BackJob shut down: 0 running job(s) finished, 1 interrupted after the 1 s grace period, 1 left for other instances, 1 waiting job(s) failed',
    );

    // A new instance on the same file: its boot sweep takes the released
    // job over and runs it. Its errorTimeout is long, so that only the
    // release (not the job's age) can make the job stale this early.
    const restartAt = Date.now();
    const next = await child({ errorTimeout: 30, maxConcurrentJobs: 1 });
    await next.openGate('anonymous');
    const done = await pollUntil(
      () => {
        const row = readJobs(files().sqliteFile).get(anonymous);
        return row && !isPendingStatus(row.status) && row;
      },
      () =>
        `the boot sweep did not take the released job over: ${JSON.stringify(
          readJobs(files().sqliteFile).get(anonymous),
        )}\n${next.output()}`,
      10_000,
    );
    report(
      `takeover: completed ${done.end_time! - restartAt} ms after the restart began`,
    );
    expect(done, next.output()).toMatchObject({
      status: JobStatus.Completed,
      status_text: 'done:anonymous',
    });
    expect(next.output()).toContain(`BackJob took over job ${anonymous}`);
    const runs = readRecord(files().recordFile).filter(
      (e) => e.event === 'entered' && e.name === 'anonymous',
    );
    expect(runs.map((e) => e.pid)).toEqual([next.child.pid]);
    // It ran anonymously, as it was started.
    expect(runs[0].cookie).toBeUndefined();
  });
});

describe('start() during and after a shutdown (in-process)', () => {
  it('rejects with BackJobShutdownError, never a database error', async () => {
    const table = 'bj_shutdown_start';
    const t = await createTestApp({
      controllers: [GatedWorkController],
      store: 'sqlite',
      backjob: { tableName: table },
    });
    let closing: Promise<void> | undefined;
    try {
      const held = await t.backjob.start({
        route: 'gated/hold',
        query: { name: 'shutdown-held' },
      });
      await pollUntil(
        () => gates.reached.has('shutdown-held'),
        () => 'the held handler did not start',
      );
      closing = t.app.close();
      // An invalid delay is refused before anything is recorded, so that
      // polling leaves no job behind; once the shutdown begins, the
      // shutdown is what start() reports.
      await pollUntil(
        () =>
          t.backjob.start('gated/quick', { delay: -1 }).then(
            () => false,
            (error: unknown) => error instanceof BackJobShutdownError,
          ),
        () => 'start() was never refused during the shutdown',
      );
      // During: the held handler still runs.
      const during = await t.backjob.start('gated/quick').then(
        () => null,
        (error: unknown) => error,
      );
      expect(during).toBeInstanceOf(BackJobShutdownError);
      expect((during as Error).name).toBe('BackJobShutdownError');
      expect((during as Error).message).toBe(shuttingDownMessage());
      expect(readJobs(t.sqliteFile, table).get(held)?.status).toBe(
        JobStatus.InProgress,
      );
      gates.open('shutdown-held');
      await closing;
      closing = undefined;
      // Drained: the held job completed, and nothing else was recorded.
      const rows = readJobs(t.sqliteFile, table);
      expect([...rows.keys()]).toEqual([held]);
      expect(rows.get(held)).toMatchObject({
        status: JobStatus.Completed,
        status_text: 'released:shutdown-held',
      });

      // After: the app and its database are closed.
      const after = await t.backjob.start('gated/quick').then(
        () => null,
        (error: unknown) => error,
      );
      expect(after).toBeInstanceOf(BackJobShutdownError);
      expect((after as Error).message).toBe(shuttingDownMessage());
    } finally {
      gates.open('shutdown-held');
      if (closing) await closing.catch(() => undefined);
      // Closed above: only its SQLite directory is left to delete.
      rmSync(dirname(t.sqliteFile), { recursive: true, force: true });
    }
  });
});
