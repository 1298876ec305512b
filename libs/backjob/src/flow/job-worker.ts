import { Injectable, Logger } from '@nestjs/common';
import { BackJobContext } from '../backjob.context.js';
import {
  BACKJOB_CLAIM_HEADER,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_SETTLED_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { JobStatus } from '../lifecycle/job-lifecycle.js';
import { JobTracker } from '../storage/job-tracker.js';
import { HttpPlatform } from '../platform/http-platform.js';
import { InstanceState } from './instance-state.js';
import type { JobRun } from './job-run.js';
import { traceJob } from './job-trace.js';
import { RunningJobs } from './running-jobs.js';
import { SelfHttpClient } from './self-http.client.js';

/**
 * Step 4 of a job: its worker request, before any guard. The job is
 * claimed once (Started → InProgress, atomically: a replayed or doubled
 * worker request gets 409 and runs nothing), then the route runs in the
 * job's context, so that `update()`, `signal()` and friends apply to it.
 * The job ends when the handler returns or throws (`callBackgroundHandler`,
 * on routes marked `@BackgroundWorker()`), or else by the route's answer,
 * stored before the answer leaves. A shutting-down instance claims
 * nothing: the job is left to its monitor.
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
    private readonly client: SelfHttpClient,
  ) {}

  /** Runs the route of a verified worker request (`next`) as job `jobId`. Never rejects. */
  async run(
    jobId: string,
    request: object,
    response: object,
    next: () => void,
  ): Promise<void> {
    if (this.instance.shuttingDown)
      return this.refuse(
        response,
        503,
        messages.shuttingDownMessage(),
        'shutdown',
      );
    let claimed: boolean;
    try {
      claimed = await this.tracker.claim(jobId);
    } catch (error) {
      const message = messages.claimFailedMessage(jobId, error);
      this.logger.error(message);
      return this.refuse(response, 500, message);
    }
    if (!claimed)
      return this.refuse(
        response,
        409,
        messages.alreadyClaimedMessage(),
        'taken',
      );
    traceJob(this.logger, () => messages.jobClaimedTrace(jobId));
    // A shutdown that interrupts the handler drops the connection: the
    // server must not wait for an answer that may never come.
    const run = this.running.start(jobId, () =>
      this.platform.dropConnection(request),
    );
    // Once its final status is stored, the answer says so, and the
    // monitor need not read the job again.
    run.onSettled = () =>
      this.platform.setHeader(response, BACKJOB_SETTLED_HEADER, jobId);
    this.platform.tapAnswer(response, {
      write: (text) => run.write(text),
      end: (text) => this.answered(run, request, response, text),
    });
    const headers = this.platform.requestHeaders(request);
    this.context.run({ headers, run }, next);
  }

  /** The route ends its answer: unless its handler settles the job, the answer does, first. */
  private answered(
    run: JobRun,
    request: object,
    response: object,
    lastChunk: string,
  ): Promise<void> | undefined {
    if (run.settlesInHandler || run.hasEnded) {
      run.write(lastChunk);
      return undefined;
    }
    const url = this.client.describeTarget({
      path: this.platform.requestPath(request),
    });
    return run
      .settleAnswer(this.platform.responseStatus(response), lastChunk, url)
      .then(
        (stored) => {
          if (stored?.status === JobStatus.Failed)
            this.logger.warn(
              messages.monitorEndedMessage(
                run.jobId,
                stored.statusText.split('\n').pop()!,
              ),
            );
        },
        (error: unknown) =>
          this.logger.error(messages.endNotStoredMessage(run.jobId, error)),
      );
  }

  private refuse(
    response: object,
    status: number,
    message: string,
    claim?: 'shutdown' | 'taken',
  ): void {
    this.platform.endEarly(
      response,
      status,
      claim ? { [BACKJOB_CLAIM_HEADER]: claim } : {},
      { statusCode: status, message },
    );
  }
}
