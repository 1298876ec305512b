import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  UseFilters,
} from '@nestjs/common';
import * as messages from '../../backjob.messages.js';
import { BackJobService } from '../../backjob.service.js';
import { BackJobExceptionFilter } from '../../errors/backjob-exception.filter.js';
import type { JobCounts } from '../../interfaces/job-list.interface.js';
import { BACKJOB_LIVE_OPTIONS } from '../backjob-live.constants.js';
import type {
  BackJobLiveOptions,
  JobAction,
  WatchedJob,
  WatchRequest,
} from '../backjob-live-options.interface.js';
import type { DashboardJob, DashboardJobPage } from './dashboard.interface.js';
import {
  DASHBOARD_CONTENT_SECURITY_POLICY,
  DASHBOARD_HEADER,
  DASHBOARD_PAGE,
} from './dashboard.page.js';
import {
  DashboardQueryError,
  MAX_READS_PER_PAGE,
  checkParameters,
  parseLimit,
  parseStatusFilter,
  singleParameter,
  toDashboardJob,
} from './dashboard-query.js';

/**
 * The dashboard of `BackJobLiveModule` (`dashboard: true`), mounted at its
 * `path` like `JobLiveController` and registered before it: Express matches
 * routes in the order they were added, so `GET <path>/dashboard` must come
 * before `GET <path>/:id` (Fastify prefers the static route anyway).
 *
 * Every job it shows passed `canWatch()`; every change needs `canManage()`
 * too. Not behind `JobAccessGuard`: its routes have no single job to guard.
 */
@UseFilters(BackJobExceptionFilter)
export class JobDashboardController {
  constructor(
    private readonly backjob: BackJobService,
    @Inject(BACKJOB_LIVE_OPTIONS) private readonly options: BackJobLiveOptions,
  ) {}

  /** The page: static HTML and script, holding no data, so anyone may load it. */
  @Get('dashboard')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-cache')
  @Header('content-security-policy', DASHBOARD_CONTENT_SECURITY_POLICY)
  @Header('x-content-type-options', 'nosniff')
  @Header('referrer-policy', 'no-referrer')
  page(): string {
    return DASHBOARD_PAGE;
  }

  /**
   * A page of `list()`, newest first, with the jobs `canWatch()` hides left
   * out. Store pages are read until the page is full, the jobs run out, or
   * `MAX_READS_PER_PAGE` were read; the cursor goes on from the last one.
   */
  @Get('dashboard/jobs')
  @Header('cache-control', 'no-store')
  async jobs(
    @Req() request: WatchRequest,
    @Query() all: unknown,
    @Query('status') status: unknown,
    @Query('scope') scope: unknown,
    @Query('cursor') cursor: unknown,
    @Query('limit') limit: unknown,
  ): Promise<DashboardJobPage> {
    return answer(async () => {
      checkParameters(all, ['status', 'scope', 'cursor', 'limit']);
      const query = {
        status: parseStatusFilter(status),
        scope: singleParameter('scope', scope),
        limit: parseLimit(limit),
      };
      const jobs: DashboardJob[] = [];
      let next = singleParameter('cursor', cursor);
      for (let reads = 0; reads < MAX_READS_PER_PAGE; reads++) {
        const page = await this.backjob.list({ ...query, cursor: next });
        for (const job of page.jobs)
          if (
            await this.options.canWatch(
              { id: job.id, scope: job.scope },
              request,
            )
          )
            jobs.push(toDashboardJob(job));
        next = page.cursor;
        if (next === undefined || jobs.length >= query.limit) break;
      }
      return next === undefined ? { jobs } : { jobs, cursor: next };
    });
  }

  /** `counts()` of a scope, or of every scope, when `canCount()` allows it. */
  @Get('dashboard/counts')
  @Header('cache-control', 'no-store')
  async counts(
    @Req() request: WatchRequest,
    @Query() all: unknown,
    @Query('scope') scope: unknown,
  ): Promise<JobCounts> {
    return answer(async () => {
      checkParameters(all, ['scope']);
      const one = singleParameter('scope', scope);
      if (!this.options.canCount)
        throw new ForbiddenException(messages.noCanCountMessage());
      if (!(await this.options.canCount(one, request)))
        throw new ForbiddenException(messages.countsDeniedMessage(one));
      return this.backjob.counts({ scope: one });
    });
  }

  /** Cancels a pending job; 409 when it had ended already. */
  @Post('dashboard/jobs/:id/cancel')
  @HttpCode(200)
  async cancel(
    @Param('id') id: string,
    @Req() request: WatchRequest,
  ): Promise<{ cancelled: true }> {
    return answer(async () => {
      await this.allow(id, request, 'cancel');
      if (!(await this.backjob.cancel(id, messages.dashboardCancelReason())))
        throw new ConflictException(messages.jobAlreadyEndedMessage(id));
      return { cancelled: true };
    });
  }

  /**
   * Runs an ended job again, as the caller of the dashboard (their
   * cookies and forwarded headers, as `retry()` does by default).
   */
  @Post('dashboard/jobs/:id/retry')
  @HttpCode(201)
  async retry(
    @Param('id') id: string,
    @Req() request: WatchRequest,
  ): Promise<{ id: string }> {
    return answer(async () => {
      await this.allow(id, request, 'retry');
      return { id: await this.backjob.retry(id) };
    });
  }

  /**
   * Refuses a change unless the request came from the page (a header a
   * cross-site form cannot send), the job exists, and both hooks allow it.
   * `canWatch()` first: a job the caller may not see is not theirs to change.
   */
  private async allow(
    id: string,
    request: WatchRequest,
    action: JobAction,
  ): Promise<void> {
    if (request.headers[DASHBOARD_HEADER] === undefined)
      throw new ForbiddenException(
        messages.missingDashboardHeaderMessage(DASHBOARD_HEADER),
      );
    const scope = await this.backjob.getScope(id);
    if (scope === null)
      throw new NotFoundException(messages.jobNotFoundMessage(id));
    const job: WatchedJob = { id, scope };
    if (!(await this.options.canWatch(job, request)))
      throw new ForbiddenException(messages.watchDeniedMessage());
    if (!this.options.canManage)
      throw new ForbiddenException(messages.noCanManageMessage());
    if (!(await this.options.canManage(job, request, action)))
      throw new ForbiddenException(messages.manageDeniedMessage(action));
  }
}

/**
 * Runs a handler and turns a dashboard query that cannot be read into a
 * 400; the service's own errors are answered by `BackJobExceptionFilter`
 * (400, 404, 409, 503), never a 500.
 */
async function answer<T>(handler: () => Promise<T>): Promise<T> {
  try {
    return await handler();
  } catch (error) {
    if (error instanceof DashboardQueryError)
      throw new BadRequestException(error.message);
    throw error;
  }
}
