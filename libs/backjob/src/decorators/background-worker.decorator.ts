import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { BACKGROUND_WORKER_METADATA } from '../backjob.constants.js';
import { HandlerOutcomeInterceptor } from '../flow/handler-outcome.interceptor.js';

// One instance: it holds no state, and an instance needs no provider.
const handlerOutcome = new HandlerOutcomeInterceptor();

/**
 * Marks a handler (or every handler of a controller) as a background action:
 * it runs only inside a verified worker request started by
 * `BackJobService.start()`; any other call gets 403 and the handler does not
 * run. Its output and return value become the job's `statusText`, and an
 * exception fails the job. The job gets the handler's own value or
 * exception, before the app's global interceptors map it; an interceptor
 * listed above this decorator on the same handler runs inside it.
 */
export function BackgroundWorker(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(BACKGROUND_WORKER_METADATA, true),
    UseInterceptors(handlerOutcome),
  );
}
