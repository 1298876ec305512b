import { All, Controller, Query } from '@nestjs/common';
import {
  BackgroundWorker,
  BackJobService,
  type JobRequest,
  type StartJobOptions,
} from 'nestjs-backjob';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { ClientController, startAsClient } from './fixtures/work.controller.js';

// Each job is held at the gate its query names until the test opens it, once
// every start() of the test has returned: the jobs stay pending however slow
// the machine, so that merging is all that decides the ids.
@Controller('merge')
class MergeController {
  constructor(private readonly backjob: BackJobService) {}

  @All('held')
  @BackgroundWorker()
  async held(@Query('gate') gate: string) {
    this.backjob.update(10);
    await gates.wait(gate);
    return 'held done';
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
    const request: JobRequest = ['merge/held', { gate: 'again' }];
    const first = await t.backjob.start(request);
    expect(await t.backjob.start(request)).toBe(first);
    gates.open('again');
    await waitForJob(t.backjob, first);
    const next = await t.backjob.start(request);
    expect(next).not.toBe(first);
    await waitForJob(t.backjob, next);
  });

  it('merges concurrent identical starts atomically', async () => {
    const ids = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.backjob.start(['merge/held', { gate: 'concurrent' }]),
      ),
    );
    expect(new Set(ids).size).toBe(1);
    gates.open('concurrent');
    expect((await waitForJob(t.backjob, ids[0])).statusText).toBe('held done');
  });

  it('keeps requests apart that differ in query, method, body, scope or caller', async () => {
    const query = { gate: 'apart', c: 1 };
    const base = await startAs('sid=one', ['merge/held', query]);
    const others = [
      await startAs('sid=one', ['merge/held', { ...query, c: 2 }]),
      await startAs('sid=one', ['merge/held', query], { scope: 'other' }),
      await startAs('sid=two', ['merge/held', query]),
      // Anonymous: no caller to forward (its key is a plain hash, the
      // others' an HMAC).
      await t.backjob.start(['merge/held', query]),
      await startAs('sid=one', {
        route: 'merge/held',
        query,
        method: 'POST',
        body: { x: 1 },
      }),
    ];
    expect(await startAs('sid=one', ['merge/held', query])).toBe(base);
    expect(await t.backjob.start(['merge/held', query])).toBe(others[3]);
    expect(new Set([base, ...others]).size).toBe(6);
    gates.open('apart');
    await Promise.all([base, ...others].map((id) => waitForJob(t.backjob, id)));
  });

  it('can be turned off per call', async () => {
    const request: JobRequest = ['merge/held', { gate: 'off' }];
    const first = await t.backjob.start(request);
    const second = await t.backjob.start(request, { merge: false });
    expect(second).not.toBe(first);
    gates.open('off');
    await Promise.all([first, second].map((id) => waitForJob(t.backjob, id)));
  });
});
