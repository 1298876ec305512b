// SQLite only: child processes of the lifecycle app share one SQLite file
// (declared in vitest.config.ts's SQLITE_ONLY).
import { JobStatus } from 'nestjs-backjob';
import {
  ENDING_TEXTS,
  isPendingStatus,
} from '../libs/backjob/src/lifecycle/job-lifecycle.js';
import {
  pollUntil,
  useLifecycleChildren,
  readJobs,
  readRecord,
  type JobRow,
} from './fixtures/lifecycle-process.js';

const { files, child, entered } = useLifecycleChildren('backjob-death-');

function row(id: string): JobRow | undefined {
  return readJobs(files().sqliteFile).get(id);
}

function report(figure: string): void {
  if (process.env.BACKJOB_TEST_FIGURES) console.log(figure);
}

describe('an instance that dies (SIGKILL), and the one that finds its jobs (SQLite, child processes)', () => {
  it('fails its running and credentialed waiting jobs and takes the anonymous one over, within 1.5 × errorTimeout', async () => {
    const errorTimeout = 1.5;
    const options = { errorTimeout, maxConcurrentJobs: 1 };
    const dying = await child(options);
    const running = await dying.startJob('running', {
      cookie: 'session=user',
    });
    await entered(dying, 'running');
    const asUser = await dying.startJob('as-user', { cookie: 'session=user' });
    const anonymous = await dying.startJob('anonymous', { anonymous: true });
    expect(row(asUser)?.status).toBe(JobStatus.Started);
    expect(row(anonymous)?.status).toBe(JobStatus.Started);

    const killedAt = Date.now();
    await dying.kill('SIGKILL');
    const survivor = await child(options);
    const survivorReadyAt = Date.now();
    await survivor.openGate('anonymous');

    // 1.5 × errorTimeout after the kill at the latest, by the rule — or, on
    // a machine so loaded that the survivor was not up by then, once it is;
    // 1.5 s more for its first sweep, the anonymous job's run and the polling.
    const boundMs =
      Math.max(errorTimeout * 1500, survivorReadyAt - killedAt) + 1500;
    const ended = await pollUntil(
      () => {
        const rows = [running, asUser, anonymous].map(row);
        return (
          rows.every((r) => r && !isPendingStatus(r.status)) &&
          (rows as JobRow[])
        );
      },
      () =>
        `the dead instance's jobs did not end: ${JSON.stringify(
          [running, asUser, anonymous].map(row),
        )}\n${survivor.output()}`,
      boundMs + 5000,
    );
    const [runningRow, asUserRow, anonymousRow] = ended;
    report(
      `death: ended ${ended.map((r) => r.end_time! - killedAt).join(', ')} ms after SIGKILL (bound ${boundMs})`,
    );
    expect(runningRow, survivor.output()).toMatchObject({
      status: JobStatus.Failed,
    });
    expect(runningRow.status_text.endsWith(ENDING_TEXTS.timedOut)).toBe(true);
    expect(asUserRow).toMatchObject({
      status: JobStatus.Failed,
      status_text: ENDING_TEXTS.instanceLost,
    });
    expect(anonymousRow).toMatchObject({
      status: JobStatus.Completed,
      status_text: 'done:anonymous',
    });
    for (const r of ended)
      expect(r.end_time! - killedAt, JSON.stringify(r)).toBeLessThan(boundMs);

    // The anonymous job ran once, in the survivor.
    const runs = readRecord(files().recordFile).filter(
      (e) => e.event === 'entered' && e.name === 'anonymous',
    );
    expect(runs.map((e) => e.pid)).toEqual([survivor.child.pid]);
    // The credentialed one never ran anywhere.
    expect(
      readRecord(files().recordFile).filter((e) => e.name === 'as-user'),
    ).toEqual([]);
  });

  it('never treats a job waiting in a live instance as stale, however long it waits', async () => {
    const app = await child({
      errorTimeout: 1,
      maxConcurrentJobs: 1,
      sweepInterval: 0.25,
    });
    const held = await app.startJob('held', { anonymous: true });
    await entered(app, 'held');
    const waiting = await app.startJob('waiting', { anonymous: true });
    const queuedAt = Date.now();

    // Three times errorTimeout: the waiting row must stay Started the
    // whole time, its sign of life renewed by the instance's heartbeat.
    const holdMs = 3000;
    let lastUpdate = row(waiting)!.updated_time;
    let renewals = 0;
    while (Date.now() - queuedAt < holdMs) {
      const current = row(waiting)!;
      expect(current.status, app.output()).toBe(JobStatus.Started);
      expect(row(held)?.status).toBe(JobStatus.InProgress);
      if (current.updated_time > lastUpdate) renewals++;
      lastUpdate = current.updated_time;
      // Never older than errorTimeout (1 s), with slack for a slow write.
      expect(Date.now() - current.updated_time).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // About three per second (errorTimeout / 3).
    expect(renewals).toBeGreaterThanOrEqual(5);

    await app.openGate('held');
    await app.openGate('waiting');
    const done = await pollUntil(
      () => {
        const r = row(waiting);
        return r && !isPendingStatus(r.status) && r;
      },
      () => `the waiting job did not end: ${JSON.stringify(row(waiting))}`,
    );
    expect(done, app.output()).toMatchObject({
      status: JobStatus.Completed,
      status_text: 'done:waiting',
    });
    expect(row(held)).toMatchObject({
      status: JobStatus.Completed,
      status_text: 'done:held',
    });
  });
});
