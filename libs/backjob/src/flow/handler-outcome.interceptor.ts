import type {
  CallHandler,
  ExecutionContext,
  NestInterceptor,
} from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { BackJobContext } from '../backjob.context.js';

/**
 * What the handler itself returned or threw, as the worker settles its job
 * with it. `@BackgroundWorker()` puts this interceptor on the handler (or
 * the controller), inside the app's global interceptors: an interceptor that
 * maps every answer to `{ data }`, or turns errors into answers, changes the
 * response, not the job. It needs nothing from DI: it reads the static
 * context, and outside a worker request it only passes the call on.
 */
export class HandlerOutcomeInterceptor implements NestInterceptor {
  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    const run = BackJobContext.instance.jobRun;
    if (!run) return next.handle();
    return next.handle().pipe(
      tap({
        next: (value: unknown) => (run.handlerOutcome = { value }),
        error: (error: unknown) => (run.handlerOutcome = { error }),
      }),
    );
  }
}
