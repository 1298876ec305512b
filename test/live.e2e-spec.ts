import { createHook } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, lastValueFrom, tap, toArray } from 'rxjs';
import {
  JobNotFoundError,
  JobStatus,
  type JobStatusSnapshot,
} from 'nestjs-backjob';
import { JobFeedService } from '../libs/backjob/src/feed/job-feed.service.js';
import { JobTracker } from '../libs/backjob/src/storage/job-tracker.js';
import { createTestApp, type TestApp } from './fixtures/test-app.js';
import {
  followSteps,
  LiveWorkController,
} from './fixtures/live-work.controller.js';

const TICKS = [10, 20, 30, 40, 50, 60, 70, 80, 90];

/** The progress values a watcher saw, in order, without repeats. */
function progressSeen(snapshots: JobStatusSnapshot[]): number[] {
  return snapshots
    .map((s) => s.progress)
    .filter((p, i, all) => i === 0 || p !== all[i - 1]);
}

/**
 * Follows the Timeout objects that the live-progress code (libs/…/live/)
 * creates while recording; a database driver's own timers do not count.
 * Node reports their destruction (cleared, or fired for good) a little
 * later, asynchronously.
 */
function timerTracker() {
  const alive = new Set<number>();
  let recording = false;
  const createdByFeedCode = () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 30;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    return /[\\/]src[\\/](feed|live)[\\/]/.test(stack);
  };
  const hook = createHook({
    init(asyncId, type) {
      if (recording && type === 'Timeout' && createdByFeedCode())
        alive.add(asyncId);
    },
    destroy(asyncId) {
      alive.delete(asyncId);
    },
  }).enable();
  return {
    async record(action: () => Promise<void>) {
      recording = true;
      try {
        await action();
      } finally {
        recording = false;
      }
    },
    get alive() {
      return alive.size;
    },
    stop: () => hook.disable(),
  };
}

describe('watch(): job snapshots as an rxjs stream (one instance)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [LiveWorkController],
      // No polling to speak of: what a watcher sees must be pushed.
      backjob: { watchPollInterval: 60_000 },
    });
  });
  afterAll(() => t.close());

  it('sees every progress value, in order, then the final status', async () => {
    const name = `every-value-${randomUUID()}`;
    const id = await t.backjob.start([`live-work/stepped/${name}`, { n: 9 }]);
    const snapshots = await followSteps(t.backjob.watch(id), name, 9);

    expect(progressSeen(snapshots).filter((p) => TICKS.includes(p))).toEqual(
      TICKS,
    );
    const last = snapshots[snapshots.length - 1];
    expect(last).toMatchObject({
      id,
      status: JobStatus.Completed,
      progress: 100,
      statusText: 'done',
      eta: 0,
      stalled: false,
    });
    expect(snapshots.slice(0, -1).map((s) => s.status)).not.toContain(
      JobStatus.Completed,
    );
    // Mid-run snapshots carry a pace and an estimate of the time left.
    const running = snapshots.filter(
      (s) => s.status === JobStatus.InProgress && s.progress >= 30,
    );
    expect(running.length).toBeGreaterThan(0);
    for (const s of running) {
      expect(s.rate).toBeGreaterThan(0);
      expect(s.eta).toBeGreaterThanOrEqual(0);
    }
  });

  it("calls its subscribers outside the job's request, though the handler's update() sets them going", async () => {
    const name = `outside-${randomUUID()}`;
    const id = await t.backjob.start([`live-work/stepped/${name}`, { n: 3 }]);
    const seenIn: (string | undefined)[] = [];
    const snapshots = t.backjob
      .watch(id)
      .pipe(tap(() => seenIn.push(t.backjob.currentJobId())));
    const seen = await followSteps(snapshots, name, 3);
    expect(progressSeen(seen)).toEqual(expect.arrayContaining([10, 20, 30]));
    expect(seenIn).toHaveLength(seen.length);
    // A job started there would otherwise run as the job's user.
    expect(seenIn.filter((jobId) => jobId !== undefined)).toEqual([]);
  });

  it('gives the current status at once, and only that, for a job that ended', async () => {
    const id = await t.backjob.start(['live-work/ticks', { n: 1, gap: 1 }]);
    await lastValueFrom(t.backjob.watch(id));
    const snapshots = await lastValueFrom(t.backjob.watch(id).pipe(toArray()));
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toEqual(await t.backjob.getStatus(id));
  });

  it('errors with JobNotFoundError for an unknown or malformed id', async () => {
    for (const id of [randomUUID(), 'not-a-job-id']) {
      const error = await firstValueFrom(t.backjob.watch(id)).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(JobNotFoundError);
      expect((error as JobNotFoundError).jobId).toBe(id);
    }
    expect(t.app.get(JobFeedService).watchedJobs).toBe(0);
  });

  it('lets two watchers share one feed, and leaves nothing behind when they unsubscribe', async () => {
    const feeds = t.app.get(JobFeedService);
    const changes = t.app.get(JobTracker).changes;
    // A delayed job stays pending for the whole test.
    const id = await t.backjob.start(['live-work/ticks', { n: 1, gap: 1 }], {
      delay: 30,
      merge: false,
    });
    const listenersBefore = changes.observers.length;
    const seen: JobStatusSnapshot[][] = [[], []];
    let subscriptions: { unsubscribe(): void }[] = [];

    const timers = timerTracker();
    try {
      await timers.record(
        () =>
          new Promise<void>((resolve) => {
            subscriptions = seen.map((list) =>
              t.backjob.watch(id).subscribe((s) => {
                list.push(s);
                if (seen.every((l) => l.length > 0)) resolve();
              }),
            );
          }),
      );

      expect(seen[0]).toEqual(seen[1]);
      expect(seen[0][0]).toMatchObject({ id, status: JobStatus.Started });
      expect(feeds.watchedJobs).toBe(1);
      expect(changes.observers.length).toBe(listenersBefore + 1);
      // Its stalled/timeout recheck, and its poll unless Redis pushes.
      expect(timers.alive).toBeGreaterThanOrEqual(1);

      subscriptions.forEach((s) => s.unsubscribe());

      expect(feeds.watchedJobs).toBe(0);
      expect(changes.observers.length).toBe(listenersBefore);
      await vi.waitFor(() => expect(timers.alive).toBe(0));
    } finally {
      timers.stop();
    }
    await t.backjob.fail('not needed', id);
  });

  it('says when a job stalls, then ends it at errorTimeout', async () => {
    const slow = await createTestApp({
      controllers: [LiveWorkController],
      backjob: { errorTimeout: 1, watchPollInterval: 60_000 },
    });
    try {
      const id = await slow.backjob.start(['live-work/hang', { ms: 1500 }]);
      const snapshots = await lastValueFrom(
        slow.backjob.watch(id).pipe(toArray()),
      );
      const stalledAt = snapshots.findIndex((s) => s.stalled);
      expect(stalledAt).toBeGreaterThan(-1);
      expect(snapshots[stalledAt]).toMatchObject({
        status: JobStatus.InProgress,
        progress: 10,
      });
      expect(snapshots.slice(0, stalledAt).some((s) => s.stalled)).toBe(false);
      expect(snapshots[snapshots.length - 1]).toMatchObject({
        status: JobStatus.Failed,
        statusText: 'working\njob timeout',
        stalled: false,
        eta: null,
      });
    } finally {
      await slow.close();
    }
  });
});
