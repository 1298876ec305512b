import { randomBytes } from 'node:crypto';
import { JobStatus, type JobStatusSnapshot } from 'nestjs-backjob';
import { DataSource } from 'typeorm';
import {
  buildExample,
  removeExampleBuild,
  startExample,
  type ExampleProcess,
} from './fixtures/example-process.js';
import { deleteRedisKeys } from './fixtures/store-setup.js';
import { TEST_KEY } from './fixtures/test-app.js';
import { serviceUrl } from './fixtures/test-stores.js';
import { sleep } from './fixtures/work.controller.js';

const ERROR_TIMEOUT_S = 2;
const SWEEP_INTERVAL_S = 0.25;
const suffix = randomBytes(4).toString('hex');
const TABLE = `bj_instances_${suffix}`;
const PREFIX = `backjob-test:${suffix}:`;

/** The environment of every instance: one PostgreSQL table, one Redis, one key. */
function instanceEnv(extra: Record<string, string> = {}) {
  return {
    DB_TYPE: 'postgres',
    DATABASE_URL: serviceUrl('postgres'),
    REDIS_URL: serviceUrl('redis'),
    BACKJOB_KEY: TEST_KEY,
    BACKJOB_ERROR_TIMEOUT: String(ERROR_TIMEOUT_S),
    BACKJOB_SWEEP_INTERVAL: String(SWEEP_INTERVAL_S),
    BACKJOB_TABLE: TABLE,
    BACKJOB_CACHE_PREFIX: PREFIX,
    // The long job: five steps of 300 ms, an update after each.
    EXAMPLE_STEP_MS: '300',
    ...extra,
  };
}

async function startLong(instance: ExampleProcess): Promise<string> {
  const response = await fetch(`${instance.url}/jobs/long`, {
    method: 'POST',
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function statusOn(
  instance: ExampleProcess,
  id: string,
): Promise<JobStatusSnapshot> {
  const response = await fetch(`${instance.url}/jobs/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as JobStatusSnapshot;
}

async function waitOn(
  instance: ExampleProcess,
  id: string,
  until: (status: JobStatusSnapshot) => boolean,
  timeoutMs = 10_000,
): Promise<JobStatusSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await statusOn(instance, id);
    if (until(status)) return status;
    if (Date.now() > deadline)
      throw new Error(
        `Job ${id} on ${instance.url} is ${JSON.stringify(status)}\n${instance.output()}`,
      );
    await sleep(50);
  }
}

const ended = (s: JobStatusSnapshot) => s.status >= JobStatus.Completed;

// Two real processes of the example app (apps/example), built from source,
// on two ports, sharing one PostgreSQL table and one Redis. `a` sends its
// internal requests to `b` (BACKJOB_BASE_URL), so the jobs `a` starts run on
// `b`. Runs in the postgres+redis project.
describe('two instances of the example app on one PostgreSQL and Redis', () => {
  let a: ExampleProcess;
  let b: ExampleProcess;
  let database: DataSource;

  beforeAll(async () => {
    buildExample();
    b = await startExample(instanceEnv());
    a = await startExample(instanceEnv({ BACKJOB_BASE_URL: b.url }));
    database = await new DataSource({
      type: 'postgres',
      url: serviceUrl('postgres'),
    }).initialize();
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    removeExampleBuild();
    if (database) {
      await database.createQueryRunner().dropTable(TABLE, true);
      await database.destroy();
    }
    await deleteRedisKeys(PREFIX);
  });

  /** The job's row, read straight from the table: no instance applies its timeout rule to it. */
  async function row(id: string) {
    const [found] = (await database.query(
      `SELECT status, status_text, end_time FROM "${TABLE}" WHERE id = $1`,
      [id],
    )) as { status: number; status_text: string; end_time: string | null }[];
    return found;
  }

  it('reads on one instance a job started on the other, while it runs and when it has ended', async () => {
    const id = await startLong(b);
    const running = await waitOn(
      a,
      id,
      (s) => s.status === JobStatus.InProgress && s.progress > 0,
    );
    expect(running.endTime).toBeNull();
    const done = await waitOn(a, id, ended);
    expect(done).toMatchObject({ status: JobStatus.Completed, progress: 100 });
    expect(done.statusText).toContain('Job done.');
    expect(await statusOn(b, id)).toEqual(done);
  });

  it('runs the work on the instance that baseUrl points at: the job completes after the instance that started it is killed', async () => {
    const id = await startLong(a);
    await a.kill('SIGKILL');
    const done = await waitOn(b, id, ended);
    expect(done).toMatchObject({ status: JobStatus.Completed, progress: 100 });
    expect(done.statusText).toContain('Job done.');
    a = await startExample(instanceEnv({ BACKJOB_BASE_URL: b.url }), a.port);
  }, 60_000);

  it('fails a job within errorTimeout when the instance that runs it is killed, swept by the instance that survives', async () => {
    const id = await startLong(a);
    await waitOn(a, id, (s) => s.status === JobStatus.InProgress);
    await b.kill('SIGKILL');
    const killedAt = Date.now();
    const deadline = killedAt + ERROR_TIMEOUT_S * 1000 + 3000;
    let failed = await row(id);
    while (failed.status !== JobStatus.Failed) {
      expect(failed.status).toBe(JobStatus.InProgress);
      expect(Date.now()).toBeLessThan(deadline);
      await sleep(50);
      failed = await row(id);
    }
    // Its last update came at most one step (300 ms) before the kill.
    expect(Number(failed.end_time) - killedAt).toBeLessThan(
      (ERROR_TIMEOUT_S + SWEEP_INTERVAL_S) * 1000 + 500,
    );
    expect(failed.status_text).toMatch(/job timeout$/);
    expect(await statusOn(a, id)).toMatchObject({
      status: JobStatus.Failed,
      statusText: failed.status_text,
    });
  }, 30_000);
});
