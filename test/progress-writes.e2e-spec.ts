import { Controller, Get, Param } from '@nestjs/common';
import { BackgroundWorker, BackJobService, JobStatus } from 'nestjs-backjob';
import { firstValueFrom } from 'rxjs';
import { BACKJOB_JOB_STORE } from '../libs/backjob/src/backjob.constants.js';
import { PROGRESS_WRITE_INTERVAL_MS } from '../libs/backjob/src/flow/job-run.js';
import type { JobStore } from '../libs/backjob/src/storage/job-store.js';
import { Gates, gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

/** How long the handler reported, and the calls' own durations (ms). */
const reports = new Map<string, { elapsedMs: number; callsMs: number[] }>();
/** Progress writes that reached the store, by job id. */
const writes = new Map<string, number>();
/** Progress writes made during one update() call, by gate name. */
const writesInCall = new Map<string, number>();

@Controller('chatty')
class ChattyController {
  constructor(private readonly backjob: BackJobService) {}

  /** Reports three times and returns at once. */
  @Get('quick/:name')
  @BackgroundWorker()
  quick(@Param('name') name: string) {
    const started = performance.now();
    this.backjob.update(10);
    this.backjob.update(50, 'half');
    this.backjob.update(90);
    reports.set(name, { elapsedMs: performance.now() - started, callsMs: [] });
    return 'quick done';
  }

  /** Reports 40 % once, then waits at gate `name`. */
  @Get('once/:name')
  @BackgroundWorker()
  async once(@Param('name') name: string) {
    this.backjob.update(40, 'forty');
    await gates.wait(name);
    return 'once done';
  }

  /**
   * Waits at gate `late-name`, reports 60 % (by then long after its claim,
   * so the write is due at once), then waits at gate `name`.
   */
  @Get('late/:name')
  @BackgroundWorker()
  async late(@Param('name') name: string) {
    await gates.wait(`late-${name}`);
    const id = this.backjob.currentJobId()!;
    const before = writes.get(id) ?? 0;
    this.backjob.update(60, 'late');
    writesInCall.set(name, (writes.get(id) ?? 0) - before);
    await gates.wait(name);
    return 'late done';
  }

  /** Reports 40 % and returns at once: its ending is its only write. */
  @Get('ends')
  @BackgroundWorker()
  ends() {
    this.backjob.update(40, 'forty');
    return 'ended';
  }

  /** Reports about once a millisecond for 300 ms, then waits at gate `name`. */
  @Get(':name')
  @BackgroundWorker()
  async chatty(@Param('name') name: string) {
    const started = performance.now();
    const callsMs: number[] = [];
    for (let i = 1; performance.now() - started < 300; i++) {
      const before = performance.now();
      this.backjob.update(i % 100, `line ${i}`);
      callsMs.push(performance.now() - before);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.backjob.update(77, 'the last word');
    reports.set(name, { elapsedMs: performance.now() - started, callsMs });
    await gates.wait(name);
    return 'done';
  }
}

describe('progress writes of a handler that reports very often', () => {
  let t: TestApp;
  /** Progress writes (gate 'write') held before they reach the store, by job id. */
  const heldProgress = new Map<string, Gates>();
  /** Endings (gate 'end') held the same way. */
  const heldEndings = new Map<string, Gates>();
  beforeAll(async () => {
    t = await createTestApp({ controllers: [ChattyController] });
    // Counts the real store's writes on the way through, and holds some.
    const store = t.app.get<JobStore>(BACKJOB_JOB_STORE);
    const save = store.saveProgress.bind(store);
    store.saveProgress = async (id, change, now) => {
      writes.set(id, (writes.get(id) ?? 0) + 1);
      await heldProgress.get(id)?.wait('write');
      return save(id, change, now);
    };
    const end = store.end.bind(store);
    store.end = async (id, ending, now) => {
      await heldEndings.get(id)?.wait('end');
      return end(id, ending, now);
    };
  });
  afterAll(() => t.close());

  it(`writes at most once per ${PROGRESS_WRITE_INTERVAL_MS} ms, and always stores the last value`, async () => {
    const name = `chatty-${Math.random().toString(36).slice(2)}`;
    const id = await t.backjob.start(`chatty/${name}`);
    // The last value is stored while the handler still runs: the trailing write.
    const held = await waitForJob(
      t.backjob,
      id,
      (s) => s.statusText === 'the last word',
    );
    expect(held).toMatchObject({ status: JobStatus.InProgress, progress: 77 });
    const { elapsedMs, callsMs } = reports.get(name)!;
    expect(callsMs.length).toBeGreaterThan(50);
    // One write at once, then at most one per interval, and the last one.
    expect(writes.get(id)).toBeLessThanOrEqual(
      Math.ceil(elapsedMs / PROGRESS_WRITE_INTERVAL_MS) + 2,
    );
    expect(writes.get(id)).toBeLessThan(callsMs.length / 5);
    gates.open(name);
    expect((await waitForJob(t.backjob, id)).status).toBe(JobStatus.Completed);
  });

  it(`a job that ends within ${PROGRESS_WRITE_INTERVAL_MS} ms of its claim writes no progress: its ending stores it`, async () => {
    const name = `quick-${Math.random().toString(36).slice(2)}`;
    const id = await t.backjob.start(`chatty/quick/${name}`);
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      progress: 100,
      statusText: 'quick done',
    });
    // The claim wrote the row just before the handler began: no progress
    // write can come before an interval from there.
    const { elapsedMs } = reports.get(name)!;
    expect(writes.get(id) ?? 0).toBeLessThanOrEqual(
      Math.floor(elapsedMs / PROGRESS_WRITE_INTERVAL_MS),
    );
  });

  it('writes the progress of a call made long after the last write soon after the call, never within it', async () => {
    const name = `late-${Math.random().toString(36).slice(2)}`;
    const id = await t.backjob.start(`chatty/late/${name}`);
    const claimed = await waitForJob(
      t.backjob,
      id,
      (s) => s.status === JobStatus.InProgress,
    );
    // The interval since the claim's write has passed: the write is due.
    const dueAt = claimed.updatedTime.getTime() + PROGRESS_WRITE_INTERVAL_MS;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, dueAt - Date.now()) + 10),
    );
    gates.open(`late-${name}`);
    // The handler runs on, held at its gate: the store has the 60 % from
    // the write the call left to the instance's ticker.
    expect(
      await waitForJob(t.backjob, id, (s) => s.statusText === 'late'),
    ).toMatchObject({ status: JobStatus.InProgress, progress: 60 });
    expect(writesInCall.get(name)).toBe(0);
    expect(writes.get(id)).toBe(1);
    gates.open(name);
    expect((await waitForJob(t.backjob, id)).status).toBe(JobStatus.Completed);
  });

  it('shows a watcher in this instance what the handler reports before it is written', async () => {
    const name = `watched-${Math.random().toString(36).slice(2)}`;
    const id = await t.backjob.start(`chatty/${name}`);
    const texts = new Set<string>();
    const watching = t.backjob
      .watch(id)
      .subscribe((snapshot) => texts.add(snapshot.statusText));
    try {
      await waitForJob(t.backjob, id, (s) => s.statusText === 'the last word');
      // Far more steps than store writes reached the watcher.
      expect(texts.size).toBeGreaterThan(writes.get(id)! * 3);
      expect(texts).toContain('the last word');
    } finally {
      watching.unsubscribe();
      gates.open(name);
      await waitForJob(t.backjob, id);
    }
  });

  it('shows a watcher that comes while a progress write is under way the progress being written', async () => {
    const name = `once-${Math.random().toString(36).slice(2)}`;
    const held = new Gates();
    const id = await t.backjob.start(`chatty/once/${name}`);
    heldProgress.set(id, held);
    try {
      await vi.waitFor(() => expect(held.reached.has('write')).toBe(true), {
        timeout: 10_000,
      });
      // The store still has the claim's row (0 %); the handler said 40.
      expect(await t.backjob.getStatus(id)).toMatchObject({ progress: 0 });
      expect(await firstValueFrom(t.backjob.watch(id))).toMatchObject({
        status: JobStatus.InProgress,
        progress: 40,
        statusText: 'forty',
      });
    } finally {
      held.open('write');
      gates.open(name);
    }
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'once done',
    });
  });

  it('shows a watcher that comes while the ending is being written the last progress reported', async () => {
    const held = new Gates();
    const id = await t.backjob.start('chatty/ends');
    heldEndings.set(id, held);
    try {
      await vi.waitFor(() => expect(held.reached.has('end')).toBe(true), {
        timeout: 10_000,
      });
      expect(await t.backjob.getStatus(id)).toMatchObject({
        status: JobStatus.InProgress,
        progress: 0,
      });
      expect(await firstValueFrom(t.backjob.watch(id))).toMatchObject({
        status: JobStatus.InProgress,
        progress: 40,
        statusText: 'forty',
      });
    } finally {
      held.open('end');
    }
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      statusText: 'ended',
    });
  });
});
