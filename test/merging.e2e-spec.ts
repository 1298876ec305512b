import { Controller, Get } from '@nestjs/common';
import {
  BackgroundWorker,
  BackJobService,
  type JobRequest,
  type StartJobOptions,
} from 'nestjs-backjob';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import {
  ClientController,
  sleep,
  startAsClient,
} from './fixtures/work.controller.js';

@Controller('merge')
class MergeController {
  constructor(private readonly backjob: BackJobService) {}

  @Get('slow')
  @BackgroundWorker()
  async slow() {
    this.backjob.update(10);
    await sleep(300);
    return 'slow done';
  }
}

describe('identical pending requests merge into one job', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [MergeController, ClientController],
    });
  });
  afterAll(() => t.close());

  const startAs = (
    cookie: string,
    request: JobRequest,
    options?: StartJobOptions,
  ) => startAsClient(t.url, { cookie }, request, options);

  it('returns the pending job for an identical request, and a new job once it ended', async () => {
    const first = await t.backjob.start(['merge/slow', { a: 1 }]);
    expect(await t.backjob.start(['merge/slow', { a: 1 }])).toBe(first);
    await waitForJob(t.backjob, first);
    const next = await t.backjob.start(['merge/slow', { a: 1 }]);
    expect(next).not.toBe(first);
    await waitForJob(t.backjob, next);
  });

  it('merges concurrent identical starts atomically', async () => {
    const ids = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.backjob.start(['merge/slow', { b: 2 }]),
      ),
    );
    expect(new Set(ids).size).toBe(1);
    expect((await waitForJob(t.backjob, ids[0])).statusText).toBe('slow done');
  });

  it('keeps requests apart that differ in query, method, body, scope or caller', async () => {
    const base = await startAs('sid=one', ['merge/slow', { c: 1 }]);
    const others = [
      await startAs('sid=one', ['merge/slow', { c: 2 }]),
      await startAs('sid=one', ['merge/slow', { c: 1 }], { scope: 'other' }),
      await startAs('sid=two', ['merge/slow', { c: 1 }]),
      await startAs('sid=one', {
        route: 'merge/slow',
        query: { c: 1 },
        method: 'POST',
        body: { x: 1 },
      }),
    ];
    expect(await startAs('sid=one', ['merge/slow', { c: 1 }])).toBe(base);
    expect(new Set([base, ...others]).size).toBe(5);
    await Promise.all([base, ...others].map((id) => waitForJob(t.backjob, id)));
  });

  it('can be turned off per call', async () => {
    const first = await t.backjob.start('merge/slow');
    const second = await t.backjob.start('merge/slow', { merge: false });
    expect(second).not.toBe(first);
    await Promise.all([first, second].map((id) => waitForJob(t.backjob, id)));
  });
});
