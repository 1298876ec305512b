import { Controller, Get } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { BackgroundWorker, BackJobService, JobStatus } from 'nestjs-backjob';
import {
  ENDING_TEXTS,
  isFinalStatus,
} from '../libs/backjob/src/lifecycle/job-lifecycle.js';
import { JobMaintenanceService } from '../libs/backjob/src/maintenance/job-maintenance.service.js';
import { BACKJOB_JOB_STORE } from '../libs/backjob/src/backjob.constants.js';
import type { JobStore } from '../libs/backjob/src/storage/job-store.js';
import { JobTracker } from '../libs/backjob/src/storage/job-tracker.js';
import { RecordingLogger } from './fixtures/boot.js';
import { startDeadInstance } from './fixtures/dead-instance.js';
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

// A caller's cookie: a job that forwards it runs as a user, so it cannot be
// taken over by another instance when the one holding it dies.
const AS_USER = { cookie: 'session=someone' };

@Controller('slow')
class SlowController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @BackgroundWorker()
  async slow() {
    this.backjob.update(5, 'working');
    await sleep(3000);
    return 'too late';
  }

  @Get('quick')
  @BackgroundWorker()
  quick() {
    return 'quick';
  }
}

/** Waits for the stored row (without the timeout-on-read rule) to satisfy `until`. */
async function waitForRow(
  t: TestApp,
  id: string,
  status: JobStatus,
  timeoutMs = 5000,
) {
  const tracker = t.app.get(JobTracker);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await tracker.find(id);
    if (row?.status === status) return row;
    if (Date.now() > deadline)
      throw new Error(`job ${id} is ${JSON.stringify(row)}`);
    await sleep(25);
  }
}

describe('errorTimeout, enforced three ways', () => {
  let dead: Awaited<ReturnType<typeof startDeadInstance>>;
  beforeAll(async () => {
    dead = await startDeadInstance();
  });
  afterAll(() => dead.close());

  it('(a) reading a job whose instance died before it started fails it, when it runs as a user', async () => {
    const t = await createTestApp({
      controllers: [SlowController, ClientController],
      backjob: { baseUrl: dead.url, errorTimeout: 0.3, sweepInterval: 3600 },
    });
    try {
      const id = await startAsClient(t.url, AS_USER, 'slow');
      // Read raw: on a loaded machine getStatus() may already find it stale.
      expect((await t.app.get(JobTracker).find(id))?.status).toBe(
        JobStatus.Started,
      );
      await sleep(400);
      expect((await t.app.get(JobTracker).find(id))?.status).toBe(
        JobStatus.Started,
      );
      expect(await t.backjob.getStatus(id)).toMatchObject({
        status: JobStatus.Failed,
        statusText: ENDING_TEXTS.instanceLost,
      });
    } finally {
      await t.close();
    }
  });

  it('(b) the monitor aborts a worker that stopped updating and fails its job', async () => {
    const t = await createTestApp({
      controllers: [SlowController],
      backjob: { errorTimeout: 0.4, sweepInterval: 3600 },
    });
    try {
      const id = await t.backjob.start('slow');
      const row = await waitForRow(t, id, JobStatus.Failed);
      expect(row.statusText).toBe('working\njob timeout');
      // The handler's late return does not complete it.
      await sleep(3200);
      expect((await t.app.get(JobTracker).find(id))?.status).toBe(
        JobStatus.Failed,
      );
    } finally {
      await t.close();
    }
  });

  it('(c) the sweep fails the jobs of an instance that died that nobody reads', async () => {
    const t = await createTestApp({
      controllers: [SlowController, ClientController],
      backjob: { baseUrl: dead.url, errorTimeout: 0.3, sweepInterval: 0.2 },
    });
    try {
      const id = await startAsClient(t.url, AS_USER, 'slow');
      const row = await waitForRow(t, id, JobStatus.Failed);
      expect(row.statusText).toBe(ENDING_TEXTS.instanceLost);
      expect(row.endTime).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it("(c) sweeps often enough by default that a dead instance's job ends within 1.5 × errorTimeout", async () => {
    const errorTimeout = 1;
    const t = await createTestApp({
      controllers: [SlowController, ClientController],
      // No sweepInterval: the lifecycle derives it from errorTimeout.
      backjob: { baseUrl: dead.url, errorTimeout },
    });
    try {
      const id = await startAsClient(t.url, AS_USER, 'slow');
      const row = await waitForRow(t, id, JobStatus.Failed, 5000);
      // Its last sign of life was its insert; nobody read it meanwhile, so
      // only the sweep ended it. A second of slack for a loaded machine;
      // the old fixed 10 s interval would miss it by far.
      expect(row.endTime! - row.startTime).toBeLessThan(
        1.5 * errorTimeout * 1000 + 1000,
      );
      expect(row.statusText).toBe(ENDING_TEXTS.instanceLost);
    } finally {
      await t.close();
    }
  });

  it('(d) the sweep takes over an anonymous job whose instance died before it started, and runs it', async () => {
    const logger = new RecordingLogger();
    const t = await createTestApp({
      controllers: [SlowController],
      logger,
      backjob: { errorTimeout: 0.3, sweepInterval: 3600 },
    });
    try {
      // The row a dead instance left: waiting, anonymous, no heartbeat since.
      const id = crypto.randomUUID();
      const then = Date.now() - 1000;
      await t.app.get<JobStore>(BACKJOB_JOB_STORE).insert({
        id,
        scope: '',
        progress: 0,
        status: JobStatus.Started,
        startTime: then,
        updatedTime: then,
        endTime: null,
        request: JSON.stringify({
          method: 'GET',
          path: '/slow/quick',
          query: '',
        }),
        statusText: '',
        mergeKey: null,
        anonymous: true,
        result: null,
        retryOf: null,
      });
      // The sweep of the app's boot may still be reading the table, and
      // take the row first: either way it is taken once.
      await t.app.get(JobMaintenanceService).sweep();
      const row = await waitForRow(t, id, JobStatus.Completed);
      expect(row.statusText).toBe('quick');
      expect(await t.app.get(JobMaintenanceService).sweep()).toBe(0);
      expect(
        logger.lines.filter((line) => line.includes(`took over job ${id}`)),
      ).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('a new identical request does not merge into a job that timed out unnoticed', async () => {
    const t = await createTestApp({
      controllers: [SlowController, ClientController],
      backjob: { baseUrl: dead.url, errorTimeout: 0.3, sweepInterval: 3600 },
    });
    try {
      const first = await startAsClient(t.url, AS_USER, 'slow');
      expect(await startAsClient(t.url, AS_USER, 'slow')).toBe(first);
      await sleep(400);
      const second = await startAsClient(t.url, AS_USER, 'slow');
      expect(second).not.toBe(first);
      expect((await t.app.get(JobTracker).find(first))?.status).toBe(
        JobStatus.Failed,
      );
    } finally {
      await t.close();
    }
  });
});

describe('backlog cleanup', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [SlowController],
      backjob: {
        backlogDays: 2,
        allBacklogDays: 5,
        cleanupCron: '*/5 * * * *',
      },
    });
  });
  afterAll(() => t.close());

  const DAY = 24 * 60 * 60 * 1000;

  /** A job row that ended (or last changed) `daysAgo` days ago, written straight to the store. */
  async function seed(status: JobStatus, daysAgo: number): Promise<string> {
    const store = t.app.get<JobStore>(BACKJOB_JOB_STORE);
    const id = crypto.randomUUID();
    const then = Date.now() - daysAgo * DAY;
    await store.insert({
      id,
      scope: 'seed',
      progress: 0,
      status: JobStatus.Started,
      startTime: then,
      updatedTime: then,
      endTime: null,
      request: '{}',
      statusText: '',
      mergeKey: null,
      anonymous: true,
      result: null,
      retryOf: null,
    });
    if (status === JobStatus.InProgress) await store.claim(id, then);
    if (isFinalStatus(status))
      await store.end(id, { status, statusText: '' }, then);
    return id;
  }

  it('deletes completed jobs after backlogDays and all finished jobs after allBacklogDays, never running ones', async () => {
    const completedOld = await seed(JobStatus.Completed, 3);
    const completedNew = await seed(JobStatus.Completed, 1);
    const failedMiddle = await seed(JobStatus.Failed, 3);
    const failedOld = await seed(JobStatus.Failed, 6);
    const completedVeryOld = await seed(JobStatus.Completed, 6);
    const runningOld = await seed(JobStatus.InProgress, 10);
    const waitingOld = await seed(JobStatus.Started, 10);
    const tracker = t.app.get(JobTracker);

    expect(await t.backjob.cleanup()).toBe(3);

    const left = async (id: string) => (await tracker.find(id)) !== null;
    expect(await left(completedOld)).toBe(false);
    expect(await left(completedVeryOld)).toBe(false);
    expect(await left(failedOld)).toBe(false);
    expect(await left(completedNew)).toBe(true);
    // Failed jobs stay for allBacklogDays, not backlogDays (the original used the wrong one).
    expect(await left(failedMiddle)).toBe(true);
    expect(await left(runningOld)).toBe(true);
    expect(await left(waitingOld)).toBe(true);
  });

  it('deletes a backlog larger than one statement in batches, and the app gets turns between them', async () => {
    const seeded: string[] = [];
    // 1,100: two full batches of CLEANUP_BATCH and a part of one.
    for (let chunk = 0; chunk < 11; chunk++)
      seeded.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, () => seed(JobStatus.Completed, 3)),
        )),
      );
    // A turn of the event loop while the cleanup runs: none at all would
    // mean one statement held the process (SQLite runs in it) for the whole
    // backlog.
    let turns = 0;
    let cleaning = true;
    const countTurn = () => {
      turns++;
      if (cleaning) setImmediate(countTurn);
    };
    setImmediate(countTurn);

    const deleted = await t.backjob.cleanup();
    cleaning = false;

    expect(deleted).toBe(1100);
    expect(turns).toBeGreaterThanOrEqual(2);
    const tracker = t.app.get(JobTracker);
    for (const id of [seeded[0], seeded[600], seeded[1099]])
      expect(await tracker.find(id)).toBeNull();
  });

  it("runs on the configured cron schedule of the app's ScheduleModule", () => {
    const cron = t.app
      .get(SchedulerRegistry)
      .getCronJob('backjob:backlog-cleanup');
    expect(cron.cronTime.source).toBe('*/5 * * * *');
    expect(t.app.get(SchedulerRegistry).getIntervals()).toContain(
      'backjob:timeout-sweep',
    );
  });

  it('keeps everything when both backlogs are 0', async () => {
    const keep = await createTestApp({
      controllers: [SlowController],
      backjob: { backlogDays: 0, allBacklogDays: 0 },
    });
    try {
      const id = await keep.backjob.start('slow/quick');
      await waitForJob(keep.backjob, id);
      expect(await keep.backjob.cleanup()).toBe(0);
      expect(await keep.backjob.jobExists(id)).toBe(true);
    } finally {
      await keep.close();
    }
  });
});
