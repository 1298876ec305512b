import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import type { JobRun } from './flow/job-run.js';

/** What the module knows about the request being handled. */
export interface BackJobRequestState {
  /** Headers of the request, for forwarding the caller's credentials. */
  headers: IncomingHttpHeaders;
  /** Set when this request is a verified worker request. */
  run?: JobRun;
}

// One store for the whole process: the middleware enters it for requests
// that carry something to forward and for worker requests, and every
// BackJobService call reads it, wherever it is made.
const storage = new AsyncLocalStorage<BackJobRequestState>();

/** The request context, provided to DI and reachable statically. */
export class BackJobContext {
  static readonly instance = new BackJobContext();

  run<T>(state: BackJobRequestState, fn: () => T): T {
    return storage.run(state, fn);
  }

  get state(): BackJobRequestState | undefined {
    return storage.getStore();
  }

  /** The job run of the current worker request, if this is one. */
  get jobRun(): JobRun | undefined {
    return storage.getStore()?.run;
  }
}
