import {
  ConflictException,
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
  JobNotEndedError,
  type JobList,
  type JobRequest,
  type StartJobOptions,
} from 'nestjs-backjob';
import { readFileSync } from 'node:fs';
import {
  canManageDemoJob,
  demoScopeOf,
  type DemoRequest,
} from './demo-user.js';

const PAGE = readFileSync(
  new URL('../../public/index.html', import.meta.url),
  'utf8',
);

/** Seconds the delayed job waits before it runs. */
const DELAY_SECONDS = 3;

/** How many of their jobs the page lists after a reload. */
const MY_JOBS_SHOWN = 20;

/** What the import job gets as its POST body: one row has no e-mail. */
const IMPORT_ROWS = [
  { name: 'Ada', email: 'ada@example.com' },
  { name: 'Grace', email: 'grace@example.com' },
  { name: 'Linus' },
  { name: 'Margaret', email: 'margaret@example.com' },
];

/**
 * What the browser talks to: the page, its list of the user's jobs, one
 * route per kind of job, and cancel and run again. The job's status
 * (GET /jobs/:id), its live events (GET /jobs/:id/events) and the dashboard
 * (GET /jobs/dashboard) come from BackJobLiveModule (see jobs.module.ts).
 */
@Controller()
export class JobsController {
  constructor(private readonly backjob: BackJobService) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  /**
   * The user's latest jobs, newest first: their scope is the user's name
   * (see start() below), so list() finds them after a reload. Not under
   * jobs/, where GET jobs/:id of BackJobLiveModule would take "mine" for an id.
   */
  @Get('my-jobs')
  @Header('cache-control', 'no-store')
  myJobs(@Req() request: DemoRequest): Promise<JobList> {
    return this.backjob.list({
      scope: demoScopeOf(request),
      limit: MY_JOBS_SHOWN,
    });
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
    await this.checkStarter(id, request);
    return { cancelled: await this.backjob.cancel(id, 'from the page') };
  }

  /**
   * Runs an ended job of its caller again, as a new job linked to it
   * (retryOf) and with the caller's cookies. retry() throws for a job that
   * is still running; the page offers the button only once it has ended.
   */
  @Post('jobs/:id/retry')
  async retry(
    @Param('id') id: string,
    @Req() request: DemoRequest,
  ): Promise<{ id: string }> {
    await this.checkStarter(id, request);
    try {
      return { id: await this.backjob.retry(id) };
    } catch (error) {
      if (error instanceof JobNotEndedError)
        throw new ConflictException(error.message);
      throw error;
    }
  }

  /**
   * Runs the backlog cleanup now (it also runs hourly): deletes completed
   * jobs older than backlogDays and finished ones older than allBacklogDays.
   */
  @Post('jobs/cleanup')
  async cleanup(): Promise<{ deleted: number }> {
    return { deleted: await this.backjob.cleanup() };
  }

  /** Only who started a job may cancel it or run it again. */
  private async checkStarter(id: string, request: DemoRequest): Promise<void> {
    const scope = await this.backjob.getScope(id);
    if (scope === null || !canManageDemoJob({ id, scope }, request))
      throw new ForbiddenException(
        'Only who started a job may cancel it or run it again: use the name you started it under.',
      );
  }

  /** The job's scope is its starter's name, which canWatch() checks. */
  private async start(
    request: DemoRequest,
    job: JobRequest,
    options: StartJobOptions = {},
  ): Promise<{ id: string }> {
    const scope = demoScopeOf(request);
    const id = await this.backjob.start(job, {
      ...options,
      scope,
      merge: false,
    });
    return { id };
  }
}
