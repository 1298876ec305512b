import { Controller, Get } from '@nestjs/common';
import { BackgroundWorker, JobStatus } from 'nestjs-backjob';
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
