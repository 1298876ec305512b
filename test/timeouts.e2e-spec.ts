import { JobStatus } from 'nestjs-backjob';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import {
  runs,
  sleep,
  StepsService,
  WorkController,
} from './fixtures/work.controller.js';

describe('errorTimeout: no job stays pending', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [WorkController],
      providers: [StepsService],
      backjob: { errorTimeout: 1, sweepInterval: 0.2 },
    });
  });
  afterAll(() => t.close());

  it('fails a job with no update for errorTimeout, and a late update or result cannot revive it', async () => {
    runs.delete('hangs');
    const id = await t.backjob.start(['work/hangs', { ms: 1800 }]);
    const failed = await waitForJob(
      t.backjob,
      id,
      (s) => s.status === JobStatus.Failed,
      5000,
    );
    expect(failed.statusText).toBe('started\njob timeout');
    expect(failed.progress).toBe(10);
    // The handler goes on, updates and returns after the timeout: nothing changes.
    await sleep(1200);
    expect(runs.get('hangs')).toBe(1);
    expect(await t.backjob.getStatus(id)).toEqual(failed);
  });

  it('refuses a delay that is not a finite number from 0 to 100 years, and records nothing', async () => {
    const before = await t.backjob.counts();
    for (const delay of ['5', -3, Number.NaN, Infinity, null, 1e12])
      await expect(
        t.backjob.start('work/object', { delay: delay as number }),
      ).rejects.toThrow(
        /the delay is a number of seconds, from 0 to 100 years \(3155760000\)/,
      );
    expect(await t.backjob.counts()).toEqual(before);
  });

  it('keeps a job delayed by longer than a Node timer can wait (24.8 days) waiting', async () => {
    const id = await t.backjob.start('work/object', {
      delay: 30 * 86_400,
      merge: false,
    });
    // Two jobs start, run and end after it: a timer that overflowed would
    // have fired it within a millisecond.
    for (let i = 0; i < 2; i++)
      await waitForJob(
        t.backjob,
        await t.backjob.start('work/object', { merge: false }),
      );
    const waiting = await t.backjob.getStatus(id);
    expect(waiting?.status).toBe(JobStatus.Started);
    expect(waiting!.startTime.getTime()).toBeGreaterThan(
      Date.now() + 29 * 86_400_000,
    );
    expect(await t.backjob.cancel(id)).toBe(true);
  });

  it('keeps a job delayed beyond errorTimeout alive while it waits, then runs it', async () => {
    const id = await t.backjob.start('work/object', { delay: 1.6 });
    const status = await waitForJob(t.backjob, id, undefined, 8000);
    expect(status.status).toBe(JobStatus.Completed);
    expect(status.statusText).toContain('"answer":42');
  });
});
