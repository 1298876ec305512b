import { JobStatus } from 'nestjs-backjob';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import {
  ClientController,
  runs,
  StepsService,
  WorkController,
} from './fixtures/work.controller.js';

/** A UUID version 7 (RFC 9562): the time in ms, then random bits. */
const UUID_V7 =
  /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOfId = (id: string) => parseInt(id.replace('-', '').slice(0, 12), 16);

describe('a job from start() to its end (SQLite)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [WorkController, ClientController],
      providers: [StepsService],
    });
  });
  afterAll(() => t.close());

  it('runs a route string and records progress, output and times', async () => {
    const before = Date.now();
    const id = await t.backjob.start(['work/steps/a', { n: 3 }]);
    expect(id).toMatch(UUID_V7);
    const status = await waitForJob(t.backjob, id);
    expect(status).toEqual({
      id,
      status: JobStatus.Completed,
      progress: 100,
      statusText: 'a:1;a:2;a:3;a:done',
      startTime: expect.any(Date),
      updatedTime: expect.any(Date),
      endTime: expect.any(Date),
      eta: 0,
      rate: expect.any(Number),
      stalled: false,
      scope: '',
      result: 'a:done',
      retryOf: null,
    });
    expect(status.startTime.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(timeOfId(id)).toBeGreaterThanOrEqual(before);
    expect(timeOfId(id)).toBeLessThanOrEqual(status.startTime.getTime());
    expect(status.endTime!.getTime()).toBeGreaterThanOrEqual(
      status.startTime.getTime(),
    );
  });

  it('gives every job its own unguessable id, in the order of creation', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map(() => t.backjob.start('work/object', { merge: false })),
    );
    expect(new Set(ids).size).toBe(3);
    ids.forEach((id) => expect(id).toMatch(UUID_V7));
    const later = await t.backjob.start('work/object', { merge: false });
    ids.forEach((id) =>
      expect(timeOfId(later)).toBeGreaterThanOrEqual(timeOfId(id)),
    );
  });

  it('accepts the three request forms', async () => {
    const asString = await t.backjob.start('work/query');
    const asArray = await t.backjob.start([
      'work/query',
      { page: 2, tags: ['a', 'b'] },
    ]);
    const asObject = await t.backjob.start({
      route: '/work/query',
      query: { page: 3, filter: { year: 2026 } },
    });
    expect((await waitForJob(t.backjob, asString)).statusText).toBe('{}');
    expect(
      JSON.parse((await waitForJob(t.backjob, asArray)).statusText),
    ).toEqual({ page: '2', tags: ['a', 'b'] });
    // Express 5's simple query parser keeps bracketed keys as they are.
    expect(
      JSON.parse((await waitForJob(t.backjob, asObject)).statusText),
    ).toEqual({ page: '3', 'filter[year]': '2026' });
  });

  it('captures a returned object as JSON, and isWorkerRequest() is true inside', async () => {
    const id = await t.backjob.start('work/object');
    expect(JSON.parse((await waitForJob(t.backjob, id)).statusText)).toEqual({
      answer: 42,
      worker: true,
    });
  });

  it('captures what a @Res() handler writes to the response', async () => {
    const id = await t.backjob.start('work/raw');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'first line\nlast line',
    });
  });

  it('captures what a @Res() handler sends', async () => {
    const id = await t.backjob.start('work/raw-send');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: '{"sent":true}',
    });
  });

  it('update(progress, text) replaces the output, and the text stays when nothing was written', async () => {
    const id = await t.backjob.start('work/replace');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'Chugging along now',
    });
  });

  it('finish(text) completes the job with that text', async () => {
    const id = await t.backjob.start('work/finish-early');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      progress: 100,
      statusText: 'And done',
    });
  });

  it('shows progress while the job runs', async () => {
    const id = await t.backjob.start(['work/hangs', { ms: 400 }]);
    const running = await waitForJob(
      t.backjob,
      id,
      (s) => s.status === JobStatus.InProgress && s.progress === 10,
    );
    expect(running).toMatchObject({ statusText: 'started', endTime: null });
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'late result',
    });
  });

  it('clamps progress to 0..100 and accepts update() without arguments', async () => {
    const high = await t.backjob.start(['work/clamp', { p: 150 }]);
    const low = await t.backjob.start(['work/clamp', { p: -20 }]);
    expect(await waitForJob(t.backjob, high)).toMatchObject({
      status: JobStatus.Failed,
      progress: 100,
    });
    expect(await waitForJob(t.backjob, low)).toMatchObject({
      status: JobStatus.Failed,
      progress: 0,
    });
  });

  it('incrementProgress() adds to the progress', async () => {
    const id = await t.backjob.start('work/increment');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Failed,
      progress: 55,
      statusText: 'at fifty-five\nstopped',
    });
  });

  it('fails a job whose handler throws, with the output so far and the message', async () => {
    const id = await t.backjob.start('work/throws');
    const status = await waitForJob(t.backjob, id);
    expect(status).toMatchObject({
      status: JobStatus.Failed,
      statusText: 'before the error\nthe report exploded',
    });
    expect(status.endTime).toBeInstanceOf(Date);
  });

  it('fail() ends the handler at once and fails the job', async () => {
    runs.delete('after-fail');
    const id = await t.backjob.start('work/fails');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Failed,
      statusText: 'Error occurred!\ngiving up',
    });
    expect(runs.get('after-fail')).toBeUndefined();
  });

  it('fails a job whose pipes reject the request', async () => {
    const id = await t.backjob.start(['work/steps/x', { n: 'not-a-number' }]);
    const status = await waitForJob(t.backjob, id);
    expect(status.status).toBe(JobStatus.Failed);
    expect(status.statusText).toContain('numeric string is expected');
  });

  it('fails a job whose route does not exist, naming the URL it tried', async () => {
    const id = await t.backjob.start('work/no-such-route');
    const status = await waitForJob(t.backjob, id);
    expect(status?.status).toBe(JobStatus.Failed);
    expect(status?.statusText).toContain(`${t.url}/work/no-such-route`);
    expect(status?.statusText).toContain('404');
  });

  it('keeps 50 jobs running at once apart', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `job${i}`);
    const ids = await Promise.all(
      names.map((name, i) =>
        t.backjob.start([`work/steps/${name}`, { n: (i % 5) + 1 }]),
      ),
    );
    const statuses = await Promise.all(
      ids.map((id) => waitForJob(t.backjob, id)),
    );
    statuses.forEach((status, i) => {
      const n = (i % 5) + 1;
      const expected =
        Array.from({ length: n }, (_, k) => `${names[i]}:${k + 1};`).join('') +
        `${names[i]}:done`;
      expect(status).toMatchObject({
        id: ids[i],
        status: JobStatus.Completed,
        progress: 100,
        statusText: expected,
      });
    });
  });

  it('answers getStatus(), getScope() and jobExists() for known, unknown and hostile ids', async () => {
    const id = await t.backjob.start('work/object', {
      scope: 'user-7',
      merge: false,
    });
    expect(await t.backjob.getScope(id)).toBe('user-7');
    expect(await t.backjob.jobExists(id)).toBe(true);
    for (const bad of [
      "' OR 1=1 --",
      'x'.repeat(5000),
      '00000000-0000-4000-8000-000000000000',
      '',
      '../etc',
    ]) {
      expect(await t.backjob.getStatus(bad)).toBeNull();
      expect(await t.backjob.getScope(bad)).toBeNull();
      expect(await t.backjob.jobExists(bad)).toBe(false);
    }
    const response = await fetch(
      `${t.url}/client/status/${encodeURIComponent("' OR 1=1 --")}`,
    );
    expect(response.status).toBe(200);
  });

  it('does nothing when the worker API is called outside a job', async () => {
    expect(t.backjob.isWorkerRequest()).toBe(false);
    expect(() => t.backjob.update(50, 'x')).not.toThrow();
    expect(() => t.backjob.incrementProgress(5)).not.toThrow();
    await expect(t.backjob.finish('x')).resolves.toBeUndefined();
  });
});
