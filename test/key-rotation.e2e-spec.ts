import { createHash } from 'node:crypto';
import { JobStatus } from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import { EchoController } from './fixtures/echo.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

const OLD_KEY = 'old-key-old-key-old-key-old-key-0000000';
const NEW_KEY = 'new-key-new-key-new-key-new-key-1111111';
const STRANGER_KEY = 'stranger-key-stranger-key-stranger-2222';
const idOf = (key: string) =>
  createHash('sha256').update(key).digest('hex').slice(0, 8);

// `receiver` runs the jobs: the others send their internal requests to it
// (baseUrl) and share its store, like instances behind a load balancer.
describe('keys rotate: requests are signed with key and verified with previousKeys too', () => {
  let receiver: TestApp;
  // Nest's logger is global: the apps of one process share it.
  const log = new RecordingLogger();
  const senders: TestApp[] = [];

  beforeAll(async () => {
    // Halfway through a rotation: still signing with the old key, accepting the new one.
    receiver = await createTestApp({
      controllers: [EchoController],
      backjob: { key: OLD_KEY, previousKeys: [NEW_KEY] },
      logger: log,
    });
  });
  afterAll(async () => {
    for (const sender of senders) await sender.close();
    await receiver.close();
  });

  /** An instance whose internal requests go to `receiver`. */
  async function sender(
    key: string,
    previousKeys: string[],
    monitorRequest: boolean,
  ) {
    const app = await createTestApp({
      controllers: [EchoController],
      sqliteFile: receiver.sqliteFile,
      backjob: {
        key,
        previousKeys,
        baseUrl: receiver.url,
        monitorRequest,
        mergeIdentical: false,
      },
      logger: log,
    });
    senders.push(app);
    return app;
  }

  /** Starts a job on `app` and waits for its end. */
  const echoJob = async (app: TestApp) =>
    waitForJob(app.backjob, await app.backjob.start('echo'));

  it('runs a job whose requests are signed with a key the receiver lists in previousKeys', async () => {
    for (const monitorRequest of [false, true]) {
      const status = await echoJob(
        await sender(NEW_KEY, [OLD_KEY], monitorRequest),
      );
      expect(status.status, status.statusText).toBe(JobStatus.Completed);
    }
  });

  it('fails a job whose worker request reached an instance without its key, and logs the key id, never the key', async () => {
    const status = await echoJob(await sender(STRANGER_KEY, [], false));
    expect(status.status).toBe(JobStatus.Failed);
    expect(status.statusText).toContain(
      `the instance that received the worker request does not share this key (key id ${idOf(STRANGER_KEY)})`,
    );
    expect(log.warnings.join('\n')).toContain(
      `signed with key ${idOf(STRANGER_KEY)}, which this instance does not have`,
    );
    expect(log.lines.join('\n')).not.toContain(STRANGER_KEY);
  });

  it('refuses a self-check ping signed with a key it does not have, so that the sender logs "does not share this key", not "cannot reach"', async () => {
    const errorsBefore = log.errors.length;
    const warningsBefore = log.warnings.length;
    // Its self-check runs once it listens, against baseUrl: the receiver.
    await sender(STRANGER_KEY, [], false);
    const selfChecks = () =>
      log.errors
        .slice(errorsBefore)
        .filter((line) => /self-check|cannot reach this app/.test(line));
    const deadline = Date.now() + 10_000;
    while (selfChecks().length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const line of selfChecks())
      expect(line).toMatch(
        new RegExp(
          `^The self-check request to ${receiver.url}/? was refused: the instance that received the self-check request does not share this key \\(key id ${idOf(STRANGER_KEY)}\\)\\. Give every instance the same key option`,
        ),
      );
    expect(log.warnings.slice(warningsBefore)).toContainEqual(
      expect.stringContaining(
        `signed with key ${idOf(STRANGER_KEY)}, which this instance does not have`,
      ),
    );
  });

  it('fails a job whose monitor request reached an instance without its key', async () => {
    const status = await echoJob(await sender(STRANGER_KEY, [], true));
    expect(status.status).toBe(JobStatus.Failed);
    expect(status.statusText).toContain(
      'the instance that received the monitor request does not share this key',
    );
  });
});
