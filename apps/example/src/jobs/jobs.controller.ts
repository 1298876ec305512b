import {
  Controller,
  ForbiddenException,
  Get,
  Header,
  Param,
  Post,
  Req,
} from '@nestjs/common';
import {
  BackJobService,
  type JobRequest,
  type StartJobOptions,
} from 'nestjs-backjob';
import { readFileSync } from 'node:fs';
import { demoUserOf, type DemoRequest } from './demo-user.js';

const PAGE = readFileSync(
  new URL('../../public/index.html', import.meta.url),
  'utf8',
);

/** Seconds the delayed job waits before it runs. */
const DELAY_SECONDS = 3;

/** What the import job gets as its POST body: one row has no e-mail. */
const IMPORT_ROWS = [
  { name: 'Ada', email: 'ada@example.com' },
  { name: 'Grace', email: 'grace@example.com' },
  { name: 'Linus' },
  { name: 'Margaret', email: 'margaret@example.com' },
];

/**
 * What the browser talks to: the page, and one route per kind of job. The
 * job's status (GET /jobs/:id) and its live events (GET /jobs/:id/events)
 * come from BackJobLiveModule (see jobs.module.ts).
 */
@Controller()
export class JobsController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  /** Starts the long job as the current user and returns its id. */
  @Post('jobs/long')
  startLong(@Req() request: DemoRequest): Promise<{ id: string }> {
    return this.start(request, 'reports/long');
  }

  /** Starts the job that fails. */
  @Post('jobs/broken')
  startBroken(@Req() request: DemoRequest): Promise<{ id: string }> {
    return this.start(request, 'reports/broken');
  }

  /** The long job, a few seconds from now. */
  @Post('jobs/delayed')
  startDelayed(@Req() request: DemoRequest): Promise<{ id: string }> {
    return this.start(request, 'reports/long', { delay: DELAY_SECONDS });
  }

  /** The long job without the caller's cookies: it runs as nobody. */
  @Post('jobs/anonymous')
  startAnonymous(@Req() request: DemoRequest): Promise<{ id: string }> {
    return this.start(request, 'reports/long', { withUserCookies: false });
  }

  /** A POST job: the rows to import travel in its body. */
  @Post('jobs/import')
  startImport(@Req() request: DemoRequest): Promise<{ id: string }> {
    return this.start(request, {
      route: 'reports/import',
      method: 'POST',
      body: { rows: IMPORT_ROWS },
      bodyType: 'json',
    });
  }

  /**
   * Cancels a job its caller started: it ends at once, and its handler's
   * signal() aborts wherever it runs.
   */
  @Post('jobs/:id/cancel')
  async cancel(
    @Param('id') id: string,
    @Req() request: DemoRequest,
  ): Promise<{ cancelled: boolean }> {
    const scope = await this.backjob.getScope(id);
    if (scope === null || scope !== (demoUserOf(request) ?? ''))
      throw new ForbiddenException('Only who started a job may cancel it.');
    return { cancelled: await this.backjob.cancel(id, 'from the page') };
  }

  /**
   * Runs the backlog cleanup now (it also runs hourly): deletes completed
   * jobs older than backlogDays and finished ones older than allBacklogDays.
   */
  @Post('jobs/cleanup')
  async cleanup(): Promise<{ deleted: number }> {
    return { deleted: await this.backjob.cleanup() };
  }

  /** The job's scope is its starter's name, which canWatch() checks. */
  private async start(
    request: DemoRequest,
    job: JobRequest,
    options: StartJobOptions = {},
  ): Promise<{ id: string }> {
    const scope = demoUserOf(request) ?? '';
    const id = await this.backjob.start(job, {
      ...options,
      scope,
      merge: false,
    });
    return { id };
  }
}
