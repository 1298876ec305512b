import { JobStatus } from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import {
  BearerGuard,
  ClientController,
  startAsClient,
  StepsService,
  WorkController,
} from './fixtures/work.controller.js';

describe('what the app logs about jobs', () => {
  let t: TestApp;
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [WorkController, ClientController],
      providers: [StepsService, BearerGuard],
      logger,
    });
  });
  afterAll(() => t.close());

  it('fail() is recorded as a failed job, not logged as a crash; a throw is logged', async () => {
    const failed = await waitForJob(
      t.backjob,
      await t.backjob.start('work/fails'),
    );
    expect(failed.statusText).toContain('giving up');
    const thrown = await waitForJob(
      t.backjob,
      await t.backjob.start('work/throws'),
    );
    expect(thrown.statusText).toContain('the report exploded');
    // Nest logs the throw as it answers the worker request, just after the
    // ending is stored: a read can see the ending first.
    await expect
      .poll(() => logger.errors.join('\n'))
      .toContain('the report exploded');
    expect(logger.lines.join('\n')).not.toContain('giving up');
  });

  it('never writes the credentials it forwards to a log line, even when the job fails', async () => {
    const secrets = {
      cookie: 'sid=log-secret-cookie',
      authorization: 'Bearer log-secret-token',
    };
    // The route's guard refuses this bearer token: the worker request fails, and the monitor says so.
    const id = await startAsClient(t.url, secrets, 'work/guarded', {
      merge: false,
    });
    const status = await waitForJob(t.backjob, id);
    expect(status.status).toBe(JobStatus.Failed);
    // The monitor warns once the ending it wrote is stored: after a read can see it.
    await expect
      .poll(() => logger.warnings.join('\n'))
      .toContain('work/guarded');
    const everything = logger.lines.join('\n');
    expect(everything).not.toContain('log-secret-cookie');
    expect(everything).not.toContain('log-secret-token');
  });
});
