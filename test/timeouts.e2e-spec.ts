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

  it('refuses a delay that is not a finite number of 0 or more, and records nothing', async () => {
    for (const delay of ['5', -3, Number.NaN, Infinity, null])
      await expect(
        t.backjob.start('work/object', { delay: delay as number }),
      ).rejects.toThrow(/the delay is a number of seconds, 0 or more/);
  });

  it('keeps a job delayed beyond errorTimeout alive while it waits, then runs it', async () => {
    const id = await t.backjob.start('work/object', { delay: 1.6 });
    const status = await waitForJob(t.backjob, id, undefined, 8000);
    expect(status.status).toBe(JobStatus.Completed);
    expect(status.statusText).toContain('"answer":42');
  });
});
