import {
  ConflictException,
  Injectable,
  Logger,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
} from '@nestjs/common';
import {
  defaultIfEmpty,
  from,
  last,
  Observable,
  switchMap,
  throwError,
} from 'rxjs';
import { BackJobContext } from '../backjob.context.js';
import {
  BACKJOB_CLAIM_HEADER,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_SETTLED_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { traceJob } from './job-trace.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import { JobTracker } from '../storage/job-tracker.js';
import { InstanceState } from './instance-state.js';
import type { JobRun } from './job-run.js';
import { RunningJobs } from './running-jobs.js';
import { HttpPlatform } from '../platform/http-platform.js';
import { JobFailedResponseException } from './job-failed-response.exception.js';

/**
 * Step 4 of a job: the worker request runs the real handler. The job is
 * claimed once (Started → InProgress, atomically: a replayed or doubled
 * worker request gets 409 and runs nothing), bound to the request's context
 * so that `update()`, `signal()` and friends apply to it, and ended with the
 * handler's output when it returns or throws. A shutting-down instance
 * claims nothing: the job is left to its monitor.
 */
@Injectable()
export class JobWorker {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  constructor(
    private readonly tracker: JobTracker,
    private readonly context: BackJobContext,
    private readonly running: RunningJobs,
    private readonly instance: InstanceState,
    private readonly platform: HttpPlatform,
  ) {}

  handle(
    jobId: string,
    execution: ExecutionContext,
    next: CallHandler,
    sendsOwnResponse: boolean,
  ): Observable<unknown> {
    const http = execution.switchToHttp();
    const request = http.getRequest<object>();
    const response = http.getResponse<object>();
    if (this.instance.shuttingDown) {
      this.platform.setHeader(response, BACKJOB_CLAIM_HEADER, 'shutdown');
      return throwError(
        () => new ServiceUnavailableException(messages.shuttingDownMessage()),
      );
    }
    return from(this.tracker.claim(jobId)).pipe(
      switchMap((claimed) => {
        if (!claimed) {
          this.platform.setHeader(response, BACKJOB_CLAIM_HEADER, 'taken');
          return throwError(
            () => new ConflictException(messages.alreadyClaimedMessage()),
          );
        }
        traceJob(this.logger, () => messages.jobClaimedTrace(jobId));
        // A shutdown that interrupts the handler drops the connection: the
        // server must not wait for an answer that may never come.
        const run = this.running.start(jobId, () =>
          this.platform.dropConnection(request),
        );
        this.platform.captureWrites(
          response,
          (text) => run.write(text),
          sendsOwnResponse,
        );
        return this.runHandler(run, request, response, next);
      }),
    );
  }

  /**
   * Runs the handler inside the job's context. The job is settled from our
   * own subscription, which is kept when the client goes away, so that an
   * action that finishes after its request was dropped still ends its job.
   * Once its final status is stored, the answer says so, and the monitor
   * need not read the job again.
   */
  private runHandler(
    run: JobRun,
    request: object,
    response: object,
    next: CallHandler,
  ): Observable<unknown> {
    const markSettled = () => {
      if (!this.platform.headersSent(response))
        this.platform.setHeader(response, BACKJOB_SETTLED_HEADER, run.jobId);
    };
    const headers = this.platform.requestHeaders(request);
    // The handler's own outcome decides the job; what the app's interceptors
    // made of it (`{ data }`, an error turned into an answer) is the
    // response's. Without one, the pipeline's outcome is all there is.
    const settle = (value: unknown, error?: unknown): Promise<void> => {
      const outcome =
        run.handlerOutcome ?? (error === undefined ? { value } : { error });
      return 'error' in outcome
        ? run.settleFailure(outcome.error)
        : run.settleResult(outcome.value);
    };
    return new Observable<unknown>((subscriber) => {
      this.context.run({ headers, run }, () =>
        next
          .handle()
          .pipe(defaultIfEmpty(undefined), last())
          .subscribe({
            next: (value) => {
              settle(value).then(
                () => (
                  markSettled(),
                  subscriber.next(value),
                  subscriber.complete()
                ),
                (error: unknown) => subscriber.error(error),
              );
            },
            error: (error: unknown) => {
              // fail() and a stop on the job's aborted signal are expected
              // endings, not crashes: answer without an error log.
              const answer =
                error instanceof JobFailedException
                  ? new JobFailedResponseException(error.text)
                  : run.signal.aborted
                    ? new JobFailedResponseException(
                        messages.describeError(run.signal.reason),
                      )
                    : error;
              settle(undefined, error).then(
                () => (markSettled(), subscriber.error(answer)),
                () => subscriber.error(answer),
              );
            },
          }),
      );
    });
  }
}
