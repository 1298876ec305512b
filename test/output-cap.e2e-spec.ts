import { Controller, Get, Query } from '@nestjs/common';
import { BackgroundWorker, BackJobService, JobStatus } from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';
import { currentTestStore } from './fixtures/test-stores.js';

const MB = 1024 * 1024;

@Controller('big')
class BigOutputController {
  constructor(private readonly backjob: BackJobService) {}

  /** Writes `mb` MB of output between a first and a last line. */
  @Get('write')
  @BackgroundWorker()
  async write(@Query('mb') mb: string, @Query('gate') gate?: string) {
    this.backjob.write('FIRST LINE\n');
    const chunk = 'private data '.repeat(MB / 13);
    for (let i = 0; i < Number(mb); i++) this.backjob.write(chunk);
    this.backjob.write('LAST LINE');
    if (gate) {
      this.backjob.update(50);
      await gates.wait(gate);
    }
    return undefined;
  }

  /** Writes and reports texts with NUL characters, which PostgreSQL's text refuses. */
  @Get('nul')
  @BackgroundWorker()
  async nul(@Query('gate') gate: string) {
    this.backjob.write('out\u0000put ');
    this.backjob.update(50, 'half\u0000way');
    await gates.wait(gate);
    return { field: 'va\u0000lue' };
  }
}

/** Asserts a text kept the first and last lines, said what was cut, and fits `maxBytes`. */
function expectCapped(text: string, maxBytes: number) {
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxBytes);
  expect(text.startsWith('FIRST LINE\n')).toBe(true);
  expect(text.endsWith('LAST LINE')).toBe(true);
  expect(text).toMatch(
    /\[… \d+ bytes cut: the output is longer than maxOutputBytes …\]/,
  );
}

describe('a job keeps at most maxOutputBytes of output', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [BigOutputController] });
  });
  afterAll(() => t.close());

  it('keeps the head and the tail of a 20 MB output (1 MiB by default), on every store', async () => {
    const status = await waitForJob(
      t.backjob,
      await t.backjob.start(['big/write', { mb: 20 }]),
    );
    expect(status.status).toBe(JobStatus.Completed);
    expectCapped(status.statusText, MB);
  });

  it('caps the progress writes too', async () => {
    const id = await t.backjob.start([
      'big/write',
      { mb: 3, gate: 'cap-progress' },
    ]);
    const running = await waitForJob(t.backjob, id, (s) => s.progress === 50);
    expectCapped(running.statusText, MB);
    gates.open('cap-progress');
    expectCapped((await waitForJob(t.backjob, id)).statusText, MB);
  });
});

describe('a text with NUL characters', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [BigOutputController] });
  });
  afterAll(() => t.close());

  it('is stored with U+FFFD in their place, on every store, and the job still ends', async () => {
    const id = await t.backjob.start(['big/nul', { gate: 'nul' }]);
    const running = await waitForJob(t.backjob, id, (s) => s.progress === 50);
    expect(running.statusText).toBe('half\uFFFDway');
    gates.open('nul');
    expect(await waitForJob(t.backjob, id)).toMatchObject({
      status: JobStatus.Completed,
      // JSON escapes it: the answer and the result keep it as it was.
      statusText: 'out\uFFFDput {"field":"va\\u0000lue"}',
      result: { field: 'va\u0000lue' },
    });
  });
});

describe.runIf(currentTestStore() === 'mariadb')(
  "a final text larger than MariaDB's max_allowed_packet",
  () => {
    let t: TestApp;
    const logger = new RecordingLogger();
    beforeAll(async () => {
      t = await createTestApp({
        controllers: [BigOutputController],
        // Above the 16 MiB max_allowed_packet, so that MariaDB refuses the statement.
        backjob: { maxOutputBytes: 32 * MB },
        logger,
      });
    });
    afterAll(() => t.close());

    it("still ends the job, with the head and tail of its output and the driver's reason, and logs no output", async () => {
      const status = await waitForJob(
        t.backjob,
        await t.backjob.start(['big/write', { mb: 20 }]),
      );
      expect(status.status).toBe(JobStatus.Completed);
      expect(status.statusText.startsWith('FIRST LINE\n')).toBe(true);
      expect(status.statusText).toMatch(
        // MariaDB answers ER_NET_PACKET_TOO_LARGE and closes the connection;
        // a driver still sending the statement sees the reset first.
        /LAST LINE\nthe store refused the whole output \(.*(max_allowed_packet|ECONNRESET|EPIPE).*\), so only its head and tail are kept/,
      );
      expect(Buffer.byteLength(status.statusText)).toBeLessThan(MB);
      expect(logger.warnings.join('\n')).toMatch(
        /refused the final text of job/,
      );
      expect(logger.lines.join('\n')).not.toContain('private data');
    });
  },
);
