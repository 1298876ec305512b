import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { BackJobLiveModule, JobStatus } from 'nestjs-backjob';
import { JobFeedService } from '../libs/backjob/src/feed/job-feed.service.js';
import { createTestApp, type TestApp } from './fixtures/test-app.js';
import {
  LiveWorkController,
  stepGates,
} from './fixtures/live-work.controller.js';
import { SseClient } from './fixtures/sse-client.js';

/** The demo rule: a job with a scope is only for the user of that name. */
const canWatch = (job: { scope: string }, request: IncomingMessage) =>
  job.scope === '' || job.scope === request.headers['x-user'];

describe('BackJobLiveModule: JSON status and Server-Sent Events', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [LiveWorkController],
      imports: [BackJobLiveModule.forRoot({ path: 'live', canWatch })],
    });
  });
  afterAll(() => t.close());

  // A test that fails mid-stream must not leave its stream to the next one.
  const opened: SseClient[] = [];
  afterEach(() => opened.splice(0).forEach((client) => client.close()));

  const events = async (id: string, user?: string) => {
    const client = await SseClient.open(
      `${t.url}/live/${id}/events`,
      user ? { 'x-user': user } : {},
    );
    opened.push(client);
    return client;
  };

  it('streams the current status at once, then every change, and ends after the final one', async () => {
    const name = `every-change-${Date.now()}`;
    const id = await t.backjob.start([`live-work/stepped/${name}`, { n: 5 }], {
      scope: 'alice',
    });
    const client = await events(id, 'alice');
    expect(client.status).toBe(200);
    expect(client.response.headers['content-type']).toMatch(
      /^text\/event-stream/,
    );
    await client.waitFor(1);
    expect(client.events[0].retry).toBeGreaterThan(0);
    expect(client.data[0]).toMatchObject({ id });

    // Each step goes on only once the stream has shown the one before.
    for (let step = 1; step <= 5; step++) {
      await until(
        () =>
          client.data.some((d) => d.progress === step * 10) &&
          stepGates.has(`${name}:${step}`),
      );
      stepGates.get(`${name}:${step}`)!();
    }
    await client.waitForEnd();
    const progress = client.data.map((d) => d.progress as number);
    expect(progress.filter((p) => [10, 20, 30, 40, 50].includes(p))).toEqual([
      10, 20, 30, 40, 50,
    ]);
    expect(client.data[client.data.length - 1]).toMatchObject({
      status: JobStatus.Completed,
      progress: 100,
      statusText: 'done',
      eta: 0,
      stalled: false,
    });
  });

  it('sends a client that reconnects the current state first', async () => {
    const id = await t.backjob.start(['live-work/ticks', { n: 9, gap: 60 }]);
    const first = await events(id);
    await first.waitFor(1);
    await vi.waitFor(
      () =>
        expect(first.data[first.data.length - 1].progress).toBeGreaterThan(20),
      { timeout: 5000 },
    );
    first.close();
    const seenBefore = first.data[first.data.length - 1];

    const again = await events(id);
    await again.waitFor(1);
    expect(again.data[0].progress).toBeGreaterThanOrEqual(
      seenBefore.progress as number,
    );
    await again.waitForEnd();

    // After the end, a reconnecting client gets the final state and the end.
    const late = await events(id);
    await late.waitForEnd();
    expect(late.data).toHaveLength(1);
    expect(late.data[0]).toMatchObject({ status: JobStatus.Completed });
  });

  it('lets go of the job when the client hangs up', async () => {
    const feeds = t.app.get(JobFeedService);
    // Streams of the tests before are gone once the server saw them end.
    await vi.waitFor(() => expect(feeds.watchedJobs).toBe(0));
    const id = await t.backjob.start(['live-work/ticks', { n: 5, gap: 200 }]);
    const client = await events(id);
    await client.waitFor(1);
    expect(feeds.watchedJobs).toBe(1);
    client.close();
    await vi.waitFor(() => expect(feeds.watchedJobs).toBe(0));
    await lastValueFrom(t.backjob.watch(id));
  });

  it('answers 403 when canWatch() refuses and 404 for an unknown job, before any stream starts', async () => {
    const id = await t.backjob.start(['live-work/ticks', { n: 1, gap: 1 }], {
      scope: 'alice',
    });
    for (const user of [undefined, 'bob']) {
      const client = await events(id, user);
      expect(client.status).toBe(403);
      expect(client.response.headers['content-type']).toMatch(/json/);
      client.close();
      const json = await fetch(`${t.url}/live/${id}`, {
        headers: user ? { 'x-user': user } : {},
      });
      expect(json.status).toBe(403);
    }
    const unknown = await events(randomUUID());
    expect(unknown.status).toBe(404);
    unknown.close();
    expect((await fetch(`${t.url}/live/not-a-job`)).status).toBe(404);
  });

  it('serves the status as JSON, with ETA, rate and stalled', async () => {
    const id = await t.backjob.start(['live-work/ticks', { n: 1, gap: 1 }], {
      scope: 'alice',
    });
    const sse = await events(id, 'alice');
    await sse.waitForEnd();
    const response = await fetch(`${t.url}/live/${id}`, {
      headers: { 'x-user': 'alice' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      id,
      status: JobStatus.Completed,
      progress: 100,
      statusText: 'done',
      startTime: expect.any(String),
      updatedTime: expect.any(String),
      endTime: expect.any(String),
      eta: 0,
      rate: expect.any(Number),
      stalled: false,
      scope: 'alice',
      result: 'done',
      retryOf: null,
    });
  });

  it('ends open streams when the app shuts down, so that it can', async () => {
    const other = await createTestApp({
      controllers: [LiveWorkController],
      imports: [BackJobLiveModule.forRoot({ path: 'live', canWatch })],
    });
    // Pending for a minute: without the shutdown, its stream would stay open.
    const id = await other.backjob.start(['live-work/hang', { ms: 1 }], {
      delay: 60,
    });
    const client = await SseClient.open(`${other.url}/live/${id}/events`);
    await client.waitFor(1);
    await other.close();
    await client.waitForEnd(5000);
    expect(client.hasEnded).toBe(true);
    expect(client.events.map((e) => e.event)).toContain('error');
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error('The stream did not show the step in time.');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
