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
}

/** Options of `BackJobLiveModule.forRoot()`. */
export interface BackJobLiveModuleOptions extends BackJobLiveOptions {
  /**
   * Where the routes are mounted, below the app's global prefix: `'jobs'`
   * serves `GET /jobs/:id` (the status as JSON) and `GET /jobs/:id/events`
   * (Server-Sent Events). No default.
   */
  path: string;
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
  /** Returns the rest of the options, from the providers in `inject`. */
  useFactory: (
    ...args: never[]
  ) => BackJobLiveOptions | Promise<BackJobLiveOptions>;
  /** Providers handed to `useFactory`. Default: none. */
  inject?: FactoryProvider['inject'];
}
