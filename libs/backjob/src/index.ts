/** The module: `BackJobModule.forRoot(options)` or `.forRootAsync({ useFactory })`. */
export { BackJobModule } from './backjob.module.js';
/** Start jobs, read them, and report progress from inside them. */
export { BackJobService } from './backjob.service.js';
/** The global interceptor that runs internal requests; registered by the module. */
export { BackJobInterceptor } from './backjob.interceptor.js';
/** Marks a handler that may only run as a background job. */
export { BackgroundWorker } from './decorators/background-worker.decorator.js';
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
/** Options, request forms and status snapshots. */
export type {
  BackJobModuleExtras,
  BackJobModuleOptions,
  JobBodyType,
  JobRequest,
  JobRequestArray,
  JobRequestObject,
  JobStatusSnapshot,
  StartJobOptions,
} from './interfaces/index.js';
/** Errors the module throws to your code. */
export {
  BackJobConfigurationError,
  BackJobShutdownError,
  InvalidJobRequestError,
  JobAbortedError,
  JobFailedException,
  JobNotFoundError,
  JobStoreUnavailableError,
  JobWatchStoppedError,
} from './errors/index.js';
/** Ready-made routes to follow a job from a browser: JSON status and Server-Sent Events. */
export { BackJobLiveModule } from './live/backjob-live.module.js';
/** Turns `watch(id)` into the events of your own `@Sse()` handler. */
export { toJobEvents } from './live/job-events.js';
/** Options of `BackJobLiveModule`, and the job and request its `canWatch()` hook is asked about. */
export type {
  BackJobLiveModuleAsyncOptions,
  BackJobLiveModuleOptions,
  BackJobLiveOptions,
  WatchedJob,
  WatchRequest,
} from './live/index.js';
