import {
  Body,
  Controller,
  Get,
  Param,
  Post,
  Query,
  UseFilters,
} from '@nestjs/common';
import {
  BackgroundWorker,
  BackJobExceptionFilter,
  BackJobService,
  JobStatus,
} from 'nestjs-backjob';
import { gates } from './fixtures/gated-work.controller.js';
import {
  createTestApp,
  waitForJob,
  type TestApp,
} from './fixtures/test-app.js';

/** What an app's own routes do with BackJobService, its errors answered by the filter. */
@Controller('reports')
@UseFilters(BackJobExceptionFilter)
class ReportsController {
  constructor(private readonly backjob: BackJobService) {}

  @Post()
  async start(@Body() body: { route: string }) {
    return { id: await this.backjob.start(body.route) };
  }

  @Post(':id/retry')
  async retry(@Param('id') id: string) {
    return { id: await this.backjob.retry(id) };
  }

  @Get()
  list(@Query('limit') limit: string) {
    return this.backjob.list({ limit: Number(limit) });
  }

  @Get('plain-error')
  plainError(): never {
    throw new Error('an error of the app, not of BackJob');
  }

  /** The job: holds at its gate until the test opens it. */
  @Get('held/:gate')
  @BackgroundWorker()
  async held(@Param('gate') gate: string) {
    await gates.wait(gate);
    return 'done';
  }
}

/** The same calls without the filter on the controller: the global one answers. */
@Controller('global')
class GloballyFilteredController {
  constructor(private readonly backjob: BackJobService) {}

  @Post(':id/retry')
  async retry(@Param('id') id: string) {
    return { id: await this.backjob.retry(id) };
  }
}

describe('BackJobExceptionFilter', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [ReportsController] });
  });
  afterAll(() => t.close());

  const post = (path: string, body?: unknown) =>
    fetch(`${t.url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });

  it('answers 400 with the reason for a job request that start() cannot make', async () => {
    const answer = await post('reports', { route: 'reports/../secret' });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/"\." or "\.\." segment/),
    });
  });

  it('answers 400 for a list query it cannot read', async () => {
    const answer = await fetch(`${t.url}/reports?limit=-3`);
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { message: string }).message).toMatch(
      /limit/,
    );
  });

  it('answers 404 for an unknown job and 409 for running a pending one again', async () => {
    const unknown = await post('reports/no-such-job/retry');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(
      /no-such-job/,
    );

    const gate = `http-errors-${Date.now()}`;
    const { id } = (await (
      await post('reports', { route: `reports/held/${gate}` })
    ).json()) as { id: string };
    try {
      const pending = await post(`reports/${id}/retry`);
      expect(pending.status).toBe(409);
    } finally {
      gates.open(gate);
    }
    expect((await waitForJob(t.backjob, id)).status).toBe(JobStatus.Completed);
  });

  it("leaves the app's own errors to Nest: a plain Error is still a 500", async () => {
    const answer = await fetch(`${t.url}/reports/plain-error`);
    expect(answer.status).toBe(500);
  });
});

describe('BackJobExceptionFilter as a global filter', () => {
  it('answers the routes of every controller', async () => {
    const t = await createTestApp({
      controllers: [GloballyFilteredController],
      configure: (app) =>
        app.useGlobalFilters(new BackJobExceptionFilter(app.getHttpAdapter())),
    });
    try {
      const answer = await fetch(`${t.url}/global/no-such-job/retry`, {
        method: 'POST',
      });
      expect(answer.status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
