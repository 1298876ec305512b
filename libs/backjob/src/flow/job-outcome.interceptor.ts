import {
  ForbiddenException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { defaultIfEmpty, last, Observable } from 'rxjs';
import { BackJobContext } from '../backjob.context.js';
import * as messages from '../backjob.messages.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import { JobFailedResponseException } from './job-failed-response.exception.js';
import type { JobRun } from './job-run.js';

/**
 * The interceptor that `@BackgroundWorker()` puts on a handler (or a
 * controller): in a worker request, the handler's own value or exception
 * settles the job, before the app's global interceptors map it (to
 * `{ data }`, an error to an answer: the response's business, not the
 * job's). A route-level interceptor, not a global one: an app's other
 * routes pay nothing for BackJob's. It needs nothing from DI: the worker
 * request's run is in the static context.
 */
export class JobOutcomeInterceptor implements NestInterceptor {
  /** `workerOnly`: any request that is not a verified worker request gets 403. */
  constructor(private readonly workerOnly: boolean) {}

  intercept(_: ExecutionContext, next: CallHandler): Observable<unknown> {
    const run = BackJobContext.instance.jobRun;
    if (!run) {
      if (this.workerOnly)
        throw new ForbiddenException(messages.workerOnlyMessage());
      return next.handle();
    }
    // Marked on the controller and on the handler: the outer one settles.
    if (run.settlesInHandler) return next.handle();
    run.settlesInHandler = true;
    return settleWith(run, next.handle());
  }
}

/**
 * Settles `run` with the last value or the error of `handled`, then passes
 * it on. The job is settled from our own subscription, which is kept when
 * the client goes away, so that an action that finishes after its request
 * was dropped still ends its job.
 */
function settleWith(
  run: JobRun,
  handled: Observable<unknown>,
): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    handled.pipe(defaultIfEmpty(undefined), last()).subscribe({
      next: (value) =>
        void run.settleResult(value).then(
          () => (subscriber.next(value), subscriber.complete()),
          (error: unknown) => subscriber.error(error),
        ),
      error: (error: unknown) => {
        const answer = expectedEndingAnswer(run, error) ?? error;
        void run.settleFailure(error).then(
          () => subscriber.error(answer),
          () => subscriber.error(answer),
        );
      },
    });
  });
}

/**
 * `fail()` and a stop on the job's aborted signal are expected endings, not
 * crashes: they are answered without an error log.
 */
function expectedEndingAnswer(
  run: JobRun,
  error: unknown,
): JobFailedResponseException | undefined {
  if (error instanceof JobFailedException)
    return new JobFailedResponseException(error.text);
  if (run.signal.aborted)
    return new JobFailedResponseException(
      messages.describeError(run.signal.reason),
    );
  return undefined;
}
