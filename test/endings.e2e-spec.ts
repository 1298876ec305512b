import { Controller, Get } from '@nestjs/common';
import { BackgroundWorker, BackJobService, JobStatus } from 'nestjs-backjob';
import { RecordingLogger } from './fixtures/boot.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

@Controller('ends')
class EndingsController {
  @Get('string')
  @BackgroundWorker()
  throwsString() {
    throw 'the disk is full';
  }

  @Get('object')
  @BackgroundWorker()
  throwsObject() {
    throw { code: 'E_QUOTA', limit: { files: 10 } };
  }

  @Get('undefined')
  @BackgroundWorker()
  throwsUndefined() {
    throw undefined;
  }

  @Get('cause')
  @BackgroundWorker()
  throwsWithCause() {
    throw new Error('the report failed', {
      cause: new Error('the upstream API answered 502'),
    });
  }

  @Get('aggregate')
  @BackgroundWorker()
  throwsAggregate() {
    throw new AggregateError(
      [new Error('part 1 failed'), new Error('part 2 failed')],
      'two parts failed',
    );
  }

  @Get('circular')
  @BackgroundWorker()
  returnsCircular() {
    const result: Record<string, unknown> = { rows: 3 };
    result.self = result;
    return result;
  }

  @Get('bigint')
  @BackgroundWorker()
  returnsBigInt() {
    return { total: 10n };
  }
}

/** What JavaScript, or a cast, hands the job's calls. */
@Controller('loose')
class LooseArgumentsController {
  constructor(private readonly backjob: BackJobService) {}

  @Get('calls')
  @BackgroundWorker()
  calls() {
    this.backjob.update('50' as never);
    this.backjob.update('60' as never);
    this.backjob.write(42 as never);
    this.backjob.write({ rows: 3 } as never);
    this.backjob.update(Infinity);
  }
}

describe("a job's calls with values of the wrong type", () => {
  let t: TestApp;
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [LooseArgumentsController],
      logger,
    });
  });
  afterAll(() => t.close());

  it('writes what write() was given as a log shows it, clamps an infinite progress, and says once that a progress is no number', async () => {
    const id = await t.backjob.start('loose/calls');
    const status = await waitForJob(t.backjob, id);
    expect(status).toMatchObject({
      status: JobStatus.Completed,
      progress: 100,
      statusText: '42{ rows: 3 }',
    });
    expect(logger.warnings.filter((line) => line.includes(id))).toEqual([
      expect.stringContaining(
        `job ${id}: update() takes the progress as a number from 0 to 100, not "50"; the progress stays at 0. Pass a number, e.g. update(40).`,
      ),
    ]);
  });

  it('cancels with a reason that is no text as a log shows it, and marks one cut short', async () => {
    const object = await t.backjob.start('loose/calls', { delay: 60 });
    await t.backjob.cancel(object, { why: 'duplicate' } as never);
    expect((await t.backjob.getStatus(object))?.statusText).toBe(
      "cancelled: { why: 'duplicate' }",
    );
    const long = await t.backjob.start('loose/calls', { delay: 60 });
    await t.backjob.cancel(long, 'x'.repeat(5000));
    expect((await t.backjob.getStatus(long))?.statusText).toBe(
      `cancelled: ${'x'.repeat(1000)}…`,
    );
  });
});

describe('every ending is readable', () => {
  let t: TestApp;
  // Thrown values are answered 500 and logged by Nest: provoked on purpose.
  const logger = new RecordingLogger();
  beforeAll(async () => {
    t = await createTestApp({ controllers: [EndingsController], logger });
  });
  afterAll(() => t.close());

  it.each([
    ['string', 'the disk is full'],
    ['object', "{ code: 'E_QUOTA', limit: { files: 10 } }"],
    ['undefined', 'undefined (a throw without an error)'],
    ['cause', 'the report failed, caused by: the upstream API answered 502'],
    ['aggregate', 'two parts failed: part 1 failed; part 2 failed'],
  ])(
    'a handler that throws (%s) fails its job with a readable reason',
    async (route, reason) => {
      const status = await waitForJob(
        t.backjob,
        await t.backjob.start(`ends/${route}`),
      );
      expect(status).toMatchObject({
        status: JobStatus.Failed,
        statusText: reason,
      });
    },
  );

  it.each([
    ['circular', /circular/i],
    ['bigint', /BigInt/],
  ])(
    'a result that JSON cannot encode (%s) fails its job: the result could not be serialised',
    async (route, why) => {
      const status = await waitForJob(
        t.backjob,
        await t.backjob.start(`ends/${route}`),
      );
      expect(status.status).toBe(JobStatus.Failed);
      expect(status.statusText).toMatch(
        /^the result could not be serialised: /,
      );
      expect(status.statusText).toMatch(why);
      expect(status.statusText).not.toContain('[object Object]');
    },
  );
});
