import {
  ConflictException,
  Injectable,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
  BACKJOB_SETTLED_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import { JobTracker } from '../storage/job-tracker.js';
import { InstanceState } from './instance-state.js';
import type { JobRun } from './job-run.js';
import { RunningJobs } from './running-jobs.js';
import { captureResponseWrites } from './output-capture.js';
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
  constructor(
    private readonly tracker: JobTracker,
    private readonly context: BackJobContext,
    private readonly running: RunningJobs,
    private readonly instance: InstanceState,
  ) {}

  handle(
    jobId: string,
    execution: ExecutionContext,
    next: CallHandler,
    sendsOwnResponse: boolean,
  ): Observable<unknown> {
    const http = execution.switchToHttp();
    const request = http.getRequest<IncomingMessage>();
    const response = http.getResponse<ServerResponse>();
    if (this.instance.shuttingDown) {
      response.setHeader(BACKJOB_CLAIM_HEADER, 'shutdown');
      return throwError(
        () => new ServiceUnavailableException(messages.shuttingDownMessage()),
      );
    }
    return from(this.tracker.claim(jobId)).pipe(
      switchMap((claimed) => {
        if (!claimed) {
          response.setHeader(BACKJOB_CLAIM_HEADER, 'taken');
          return throwError(
            () => new ConflictException(messages.alreadyClaimedMessage()),
          );
        }
        const run = this.running.start(jobId, () => dropConnection(request));
        captureResponseWrites(response, run, sendsOwnResponse);
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
    request: IncomingMessage,
    response: ServerResponse,
    next: CallHandler,
  ): Observable<unknown> {
    const markSettled = () => {
      if (!response.headersSent)
        response.setHeader(BACKJOB_SETTLED_HEADER, run.jobId);
    };
    return new Observable<unknown>((subscriber) => {
      this.context.run({ headers: request.headers, run }, () =>
        next
          .handle()
          .pipe(defaultIfEmpty(undefined), last())
          .subscribe({
            next: (value) => {
              run.settleResult(value).then(
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
              run.settleFailure(error).then(
                () => (markSettled(), subscriber.error(answer)),
                () => subscriber.error(answer),
              );
            },
          }),
      );
    });
  }
}

/**
 * Closes the worker request's connection, after a shutdown interrupted its
 * handler: the server must not wait for an answer that may never come.
 */
function dropConnection(request: IncomingMessage): void {
  const raw = (request as { raw?: IncomingMessage }).raw ?? request;
  raw.socket?.destroy();
}
