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
const storage = new AsyncLocalStorage<BackJobRequestState | undefined>();

/**
 * Runs `fn` outside any request's state. A timer made inside a request
 * keeps that request's state (a job's run, its output so far, the caller's
 * credentials) for as long as it lives, and what it starts inherits it: the
 * instance's own timers, its job monitors and its job events start here,
 * so that none runs as whichever request happened to set it going.
 */
export function outsideRequests<T>(fn: () => T): T {
  // Outside already: run() would also turn the store's async hooks on in a
  // process that never entered a state, and they cost every promise.
  return storage.getStore() === undefined ? fn() : storage.run(undefined, fn);
}

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
