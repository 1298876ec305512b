import { UseInterceptors } from '@nestjs/common';
import { JobOutcomeInterceptor } from '../flow/job-outcome.interceptor.js';

/** Options of `@BackgroundWorker()`. */
export interface BackgroundWorkerOptions {
  /**
   * Lets the route also be called directly, as a plain route: the handler
   * then runs without a job, and `update()` and friends do nothing.
   * Default `false`: any request that is not a job's gets 403.
   */
  allowDirectCalls?: boolean;
}

// Two instances for the whole app: they hold no state, and need no provider.
const workerOnly = new JobOutcomeInterceptor(true);
const alsoDirect = new JobOutcomeInterceptor(false);

/**
 * Marks a handler (or every handler of a controller) as a background
 * action, started with `BackJobService.start()`. Its output and return
 * value become the job's `statusText` and result, and an exception fails
 * the job with that exception's message: the handler's own value or
 * exception, before the app's global interceptors map it. An interceptor
 * listed above this decorator on the same handler runs inside it.
 *
 * Any route can be started as a job; without this mark, the route's answer
 * decides the job (2xx completes it with the answer, any other status
 * fails it with the answer), so a crash reads "answered 500: Internal
 * server error" rather than its message.
 */
export function BackgroundWorker(
  options: BackgroundWorkerOptions = {},
): MethodDecorator & ClassDecorator {
  return UseInterceptors(options.allowDirectCalls ? alsoDirect : workerOnly);
}
