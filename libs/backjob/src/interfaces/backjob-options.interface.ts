import type { InjectionToken } from '@nestjs/common';

/**
 * Options of `BackJobModule.forRoot()` and of the factory of
 * `BackJobModule.forRootAsync()`. Every field is optional; the default of
 * each is stated here and applied in one place (`backjob.options.ts`).
 */
export interface BackJobModuleOptions {
  /**
   * Secret that signs the internal monitor and worker requests (HMAC-SHA256).
   * At least 32 characters; every instance of the app must share it.
   *
   * Default: a random key made at boot, which only works for a single
   * instance. Refused when `NODE_ENV` is `production`: set your own.
   */
  key?: string;

  /**
   * Keep jobs in the cache (`@nestjs/cache-manager`) as well as, or instead
   * of, the database.
   *
   * Default: `false`.
   */
  useCache?: boolean;

  /**
   * Injection token of the cache store (the original's `cacheComponent`).
   *
   * Default: `CACHE_MANAGER` from `@nestjs/cache-manager`.
   */
  cacheToken?: InjectionToken;

  /**
   * Prefix of every cache key the module writes.
   *
   * Default: `'backjob:'`.
   */
  cachePrefix?: string;

  /**
   * Milliseconds the module waits for the cache when the database is there
   * as well (`useDb` and `useCache`). A cache that fails or takes longer is
   * skipped: jobs are read from and written to the database, with one
   * warning, and the cache is tried again two seconds later. With the cache
   * as the only store (`useDb: false`) there is nothing to fall back to:
   * every call to it that takes longer rejects with
   * `JobStoreUnavailableError`, with one warning per outage.
   *
   * Default: `250`.
   */
  cacheTimeout?: number;

  /**
   * Seconds a pending (unfinished) job stays in the cache beside the
   * database (`useDb` and `useCache`) after its last write; every progress
   * write renews it, and a job that writes less often is read from the
   * database in between. It bounds how long other instances can report a
   * job as unfinished when the instance that ended it could not reach the
   * cache. Capped at `errorTimeout`.
   *
   * Default: `5`.
   */
  pendingCacheTtl?: number;

  /**
   * Create the job table and its indexes when they are missing, at boot.
   * Only this table is touched; TypeORM's `synchronize` never alters it.
   *
   * Default: `true`. Set `false` and run `BackJobMigration` in production.
   */
  checkAndCreateTable?: boolean;

  /**
   * Seconds without a sign of life after which a pending job is stale: a
   * running one (no progress update) is failed with "job timeout"; a waiting
   * one (its instance stopped renewing it, so it died) is taken over by
   * another instance when it runs anonymously, else failed.
   *
   * Default: `60`.
   */
  errorTimeout?: number;

  /**
   * User-Agent header of the internal requests.
   *
   * Default: `'nestjs-backjob'`.
   */
  userAgent?: string;

  /**
   * Days that completed jobs are kept after they ended. `0` keeps them forever.
   *
   * Default: `30`.
   */
  backlogDays?: number;

  /**
   * Days that every finished job (completed or failed) is kept after it
   * ended. `0` keeps them forever. Running jobs are never deleted.
   *
   * Default: `60`.
   */
  allBacklogDays?: number;

  /**
   * Cron expression of the backlog cleanup (`@nestjs/schedule`).
   *
   * Default: `'0 * * * *'` (hourly).
   */
  cleanupCron?: string;

  /**
   * Seconds between two sweeps for stale jobs nobody reads, including those
   * whose instance died. Every instance also sweeps as it boots.
   *
   * Default: half of `errorTimeout`, so that a dead instance's job ends
   * within 1.5 × `errorTimeout`.
   */
  sweepInterval?: number;

  /**
   * How many jobs run at once in this instance. The others wait in the
   * store as Started (no socket, no open request) and start in order as
   * running ones end; delayed jobs wait the same way.
   *
   * Default: `20`.
   */
  maxConcurrentJobs?: number;

  /**
   * Seconds that running handlers get to finish when the app shuts down
   * (`enableShutdownHooks()` and SIGTERM, or `app.close()`). Then their
   * `signal()` aborts and their jobs fail "interrupted by shutdown". Keep it
   * below the time your orchestrator waits before SIGKILL (10 s for
   * `docker stop`). `0` interrupts them at once.
   *
   * Default: `5`.
   */
  shutdownGracePeriod?: number;

  /**
   * Seconds within which an internal request must be answered: the monitor
   * request's acknowledgement (so `start()` never hangs on a base URL that
   * does not answer), and the worker request's claim of its job, made as
   * the request reaches the app, before its guards (from then on, a route
   * that hangs is ended by `errorTimeout`). A job whose request is not
   * answered in time fails "no answer in N s". It also bounds how long
   * `start()` waits for the database to record its job (then it rejects
   * with `JobStoreUnavailableError`, and the job never runs), and how long
   * a read of jobs (`getStatus()`, `list()` and the rest) waits for it
   * (then it rejects the same way), and each write of a graceful shutdown
   * (then the shutdown goes on, and logs what it could not record).
   *
   * Default: `10`.
   */
  requestTimeout?: number;

  /**
   * Hand each job to a monitor through a signed HTTP request to `baseUrl`,
   * so that whichever instance answers runs it, instead of monitoring it in
   * this instance with no round trip.
   *
   * Default: `true` when `baseUrl` is set, else `false`.
   */
  monitorRequest?: boolean;

  /**
   * Where internal requests go over HTTP(S), e.g. a load balancer with a
   * path prefix (`'https://lb.internal/app'`), or `'http://127.0.0.1:3000'`
   * for a real connection to this app.
   *
   * Default: none. Internal requests are then handed to this app's own
   * server in this process, with no socket: the same middleware, guards,
   * pipes and routes as a request from loopback, as `https` when the app is
   * served over it.
   */
  baseUrl?: string;

  /**
   * Accept a self-signed certificate on internal https requests to
   * `baseUrl` (those handed over in process use no TLS).
   *
   * Default: `false`.
   */
  allowSelfSignedCertificates?: boolean;

  /**
   * Headers of the originating request that are forwarded to the job's
   * internal requests, so that it runs as the same user. Lower case.
   * `accept-encoding` is replaced by `identity`: BackJob reads the answers.
   *
   * Default: `['cookie', 'authorization', 'x-csrf-token', 'x-xsrf-token', 'csrf-token']`.
   */
  forwardHeaders?: string[];

  /**
   * Return the id of a still pending identical job (same route, method,
   * query, body, scope and caller) instead of starting a second one.
   * `start(…, { merge: false })` turns it off for one call.
   *
   * Default: `true`.
   */
  mergeIdentical?: boolean;

  /**
   * Largest request body, in bytes, that `start()` accepts (the body as it
   * is sent, url-encoded or JSON). A larger one is refused with
   * `InvalidJobRequestError` before anything is written: the app's body
   * parser would refuse it with 413 anyway. Raise it together with the
   * parser's limit.
   *
   * Default: `102400` (100 kB, the default of Express's body parser).
   */
  maxRequestBytes?: number;

  /**
   * Largest output, in bytes, kept for a job: its progress texts and its
   * final text, on every store, and what its run holds in memory. Longer
   * output keeps its head and its tail, with a line in between that says
   * how much was cut. At least 1024.
   *
   * Default: `1048576` (1 MiB).
   */
  maxOutputBytes?: number;

  /**
   * Keys that internal requests may still be signed with while the key
   * changes: new requests are signed with `key`, and requests signed with
   * one of these are accepted too. Rotate in two deploys: first add the
   * new key here on every instance, then make it the `key` and move the
   * old one here; drop it once no instance signs with it.
   *
   * Default: `[]`.
   */
  previousKeys?: string[];

  /**
   * Milliseconds between two reads of the store by `watch()` when changes
   * cannot be pushed (another instance runs the job and there is no Redis).
   *
   * Default: `500`.
   */
  watchPollInterval?: number;
}

/**
 * Options that decide which providers and entities the module registers, so
 * they are given when the module is defined: in `forRoot()` beside the others,
 * in `forRootAsync()` beside `useFactory`.
 */
export interface BackJobModuleExtras {
  /**
   * Register the module globally.
   *
   * Default: `true`.
   */
  isGlobal?: boolean;

  /**
   * Keep jobs in the database table through TypeORM. With `false`, the
   * cache is the only store and no entity is registered.
   *
   * Default: `true`.
   */
  useDb?: boolean;

  /**
   * Name of the job table (the entity follows it).
   *
   * Default: `'e_background_job'`.
   */
  tableName?: string;

  /**
   * Name of the TypeORM data source that holds the table (the original's
   * `databaseComponent`).
   *
   * Default: the default data source.
   */
  dataSource?: string;
}
