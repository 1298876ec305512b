import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';

/** A job as `canWatch()` sees it. */
export interface WatchedJob {
  /** The id `start()` returned. */
  id: string;
  /** The `scope` given to `start()` (`''` when none was). */
  scope: string;
}

/**
 * The request as `canWatch()` sees it: what Express's `Request` and
 * Fastify's `FastifyRequest` both have. Annotate the parameter with your
 * platform's type to read more (`request.user`, the session).
 */
export interface WatchRequest {
  headers: IncomingHttpHeaders;
}

/** What the dashboard's buttons do to a job, as `canManage()` is asked about it. */
export type JobAction = 'cancel' | 'retry';

/** Options of `BackJobLiveModule` that may come from a factory. */
export interface BackJobLiveOptions {
  /**
   * Decides whether `request` may read `job`: its JSON status and its event
   * stream. Called for every request, before anything is sent; `false`
   * answers 403. Throw an `HttpException` for another answer (e.g. 401).
   * `request` is the adapter's request (Express or Fastify), with whatever
   * your middleware put on it (`request.user`, cookies, the session).
   *
   * No default: job ids are unguessable, but only the app knows whose job
   * is whose. `() => true` lets anyone who knows an id watch that job.
   *
   * @example (job, request: Request) => job.scope === '' || job.scope === request.user?.id
   */
  canWatch(job: WatchedJob, request: WatchRequest): boolean | Promise<boolean>;

  /**
   * Decides whether `request` may `'cancel'` `job` or run it again
   * (`'retry'`) from the dashboard, which asks `canWatch()` first:
   * both must allow it. `false` answers 403. A retried job keeps the first
   * one's scope and runs as the caller of the dashboard, with their cookies.
   *
   * Default: none, and then every cancel and run again is refused (403):
   * only the app knows who may stop or repeat whose work.
   *
   * @example (job, request: Request, action) => request.user?.isAdmin === true
   */
  canManage?(
    job: WatchedJob,
    request: WatchRequest,
    action: JobAction,
  ): boolean | Promise<boolean>;

  /**
   * Decides whether `request` may see the dashboard's totals per status
   * (`counts()`) of `scope`, or of every scope when `scope` is `undefined`.
   * Totals cover jobs one by one `canWatch()` may hide, hence a hook of
   * their own.
   *
   * Default: none, and then the totals are refused (403) and the dashboard
   * counts the jobs it shows instead.
   *
   * @example (scope, request: Request) => scope === request.user?.id
   */
  canCount?(
    scope: string | undefined,
    request: WatchRequest,
  ): boolean | Promise<boolean>;
}

/** Options of `BackJobLiveModule.forRoot()`. */
export interface BackJobLiveModuleOptions extends BackJobLiveOptions {
  /**
   * Where the routes are mounted, below the app's global prefix: `'jobs'`
   * serves `GET /jobs/:id` (the status as JSON) and `GET /jobs/:id/events`
   * (Server-Sent Events), and with `dashboard` `GET /jobs/dashboard`. No
   * default.
   */
  path: string;
  /**
   * Also serve the dashboard: a page at `GET <path>/dashboard` that lists
   * jobs live, with its JSON routes below it (see the README).
   *
   * Default: `false`.
   */
  dashboard?: boolean;
}

/** Options of `BackJobLiveModule.forRootAsync()`. */
export interface BackJobLiveModuleAsyncOptions extends Pick<
  ModuleMetadata,
  'imports'
> {
  /**
   * Where the routes are mounted (see `BackJobLiveModuleOptions.path`).
   * Given here rather than by the factory: routes exist before it runs.
   */
  path: string;
  /**
   * Also serve the dashboard (see `BackJobLiveModuleOptions.dashboard`),
   * given here for the same reason as `path`.
   *
   * Default: `false`.
   */
  dashboard?: boolean;
  /** Returns the rest of the options, from the providers in `inject`. */
  useFactory: (
    ...args: never[]
  ) => BackJobLiveOptions | Promise<BackJobLiveOptions>;
  /** Providers handed to `useFactory`. Default: none. */
  inject?: FactoryProvider['inject'];
}
