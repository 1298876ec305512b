/** The module: `BackJobModule.forRoot(options)` or `.forRootAsync({ useFactory })`. */
export { BackJobModule } from './backjob.module.js';
/** Start jobs, read them, and report progress from inside them. */
export { BackJobService } from './backjob.service.js';
/** Marks a background action: the handler's own value or exception ends its job. */
export {
  BackgroundWorker,
  type BackgroundWorkerOptions,
} from './decorators/background-worker.decorator.js';
/** Calls a provider's method with each job that this instance ends, and which endings it hears. */
export {
  OnJobEnd,
  type OnJobEndOptions,
} from './endings/on-job-end.decorator.js';
/** The job table's entity (`e_background_job`). */
export { BackgroundJobEntity } from './entities/background-job.entity.js';
/** TypeORM migrations of the job table, in order (for `checkAndCreateTable: false`). */
export {
  BackJobMigration,
  BackJobMigrations,
  createBackJobMigration,
  createBackJobMigrations,
} from './migrations/backjob.migration.js';
/** The defaults of every option. */
export { BACKJOB_DEFAULTS } from './backjob.options.js';
/** Job statuses, with the original BackJob's numbers. */
export { JobStatus } from './lifecycle/job-lifecycle.js';
/** Options, request forms, status snapshots, pages and counts. */
export type {
  BackJobModuleExtras,
  BackJobModuleOptions,
  JobBodyType,
  JobCounts,
  JobList,
  JobListOptions,
  JobRequest,
  JobRequestArray,
  JobRequestObject,
  JobStatusSnapshot,
  RetryJobOptions,
  StartJobOptions,
} from './interfaces/index.js';
/** Errors the module throws to your code. */
export {
  BackJobConfigurationError,
  BackJobShutdownError,
  InvalidJobQueryError,
  InvalidJobRequestError,
  JobAbortedError,
  JobFailedException,
  JobNotEndedError,
  JobNotFoundError,
  JobStoreUnavailableError,
  JobWatchStoppedError,
} from './errors/index.js';
/** Answers those errors with the HTTP status they stand for (400, 404, 409, 503) instead of a 500. */
export { BackJobExceptionFilter } from './errors/backjob-exception.filter.js';
/** Ready-made routes to follow a job from a browser: JSON status and Server-Sent Events. */
export { BackJobLiveModule } from './live/backjob-live.module.js';
/** Turns `watch(id)` into the events of your own `@Sse()` handler. */
export { toJobEvents } from './live/job-events.js';
/**
 * Options of `BackJobLiveModule`, the job and request its hooks are asked
 * about, and the action `canManage()` is asked to allow.
 */
export type {
  BackJobLiveModuleAsyncOptions,
  BackJobLiveModuleOptions,
  BackJobLiveOptions,
  JobAction,
  WatchedJob,
  WatchRequest,
} from './live/index.js';
/** A job and a page of jobs as the dashboard's JSON routes give them. */
export type { DashboardJob, DashboardJobPage } from './live/index.js';
