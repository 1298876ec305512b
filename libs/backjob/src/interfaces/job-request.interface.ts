/** How a job request's body is encoded. */
export type JobBodyType = 'form' | 'json';

/**
 * The object form of a job request.
 *
 * @example { route: 'reports/build', query: { year: 2026 }, method: 'POST', body: { format: 'csv' } }
 */
export interface JobRequestObject {
  /** A route the app serves, relative to its global prefix: `'reports/build'`. */
  route: string;
  /** Query parameters; nested objects use the bracket notation. */
  query?: Record<string, unknown>;
  /**
   * HTTP method. Default: `'GET'`, or `'POST'` when a body is given.
   */
  method?: string;
  /** Request body, sent as `bodyType` says. */
  body?: unknown;
  /**
   * `'form'` sends the body url-encoded, as the original did, in the form
   * Express's extended parser reads back; `'json'` sends JSON.
   * Default: `'form'`.
   */
  bodyType?: JobBodyType;
}

/**
 * The original BackJob's array form: the route, then its parameters. Two
 * parameter names are special, as in the original: `backjobMethod` (the HTTP
 * method) and `backjobPostdata` (the url-encoded body); the others go into
 * the query string.
 *
 * @example ['reports/build', { page: 1, backjobMethod: 'POST', backjobPostdata: { id: 5 } }]
 */
export type JobRequestArray = readonly [
  route: string,
  params?: Record<string, unknown>,
];

/** Everything `start()` accepts as the request to run in the background. */
export type JobRequest = string | JobRequestArray | JobRequestObject;

/** Per-call options of `BackJobService.start()`. */
export interface StartJobOptions {
  /**
   * Free label stored with the job, e.g. the owner's id, to check who may
   * read it (`getScope()`). Default: `''`.
   */
  scope?: string;
  /**
   * Forward the caller's cookies and credentials so that the job runs as the
   * same user. `false` runs it anonymously. Default: `true`.
   */
  withUserCookies?: boolean;
  /**
   * Seconds to wait before the action runs: a finite number from 0 to 100
   * years (the job waits as Started in the store, kept alive by its
   * instance). Anything else is refused with `InvalidJobRequestError`.
   * Default: `0`.
   */
  delay?: number;
  /**
   * Return the id of a pending identical job instead of starting another.
   * Default: the module's `mergeIdentical` (`true`).
   */
  merge?: boolean;
}
