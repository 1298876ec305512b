import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OutgoingHttpHeaders } from 'node:http';
import {
  BACKJOB_CLAIM_HEADER,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
  BACKJOB_SETTLED_HEADER,
  BACKJOB_TOKEN_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { traceJob } from './job-trace.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import {
  isFinalStatus,
  JobEndings,
  isWaitingStatus,
  JobStatus,
  RELEASED_SIGN_OF_LIFE,
  type JobEnding,
} from '../lifecycle/job-lifecycle.js';
import { JobTracker } from '../storage/job-tracker.js';
import type { NormalizedJobRequest } from './job-request.normalizer.js';
import { RequestSigner } from './request-signer.js';
import { answerEnding } from './route-answer.js';
import { unsharedKeyReason } from './unknown-key.js';
import type { MonitorStop } from './monitor-stop.js';
import { SelfHttpClient, type SelfResponse } from './self-http.client.js';
import { StoreOutage } from '../storage/store-outage.js';

/** A job handed to a monitor: its request, and the caller's credentials. */
export interface MonitoredJob {
  id: string;
  request: NormalizedJobRequest;
  forwarded: OutgoingHttpHeaders;
  /** It forwards no credentials, so another instance may run it instead. */
  anonymous: boolean;
}

/**
 * Step 3 of a job: its monitor, in the instance that dispatched it (see
 * `JobQueue`). It sends the worker request to the real route as the caller
 * and makes sure the job ends:
 * - the worker's own ending wins: a handler that ended its job says so;
 * - a worker that answers without having ended it completes it (2xx) or
 *   fails it with the answer;
 * - a worker request nobody claims within `requestTimeout` fails it
 *   "no answer in N s";
 * - a connection lost after the claim ends nothing: the handler goes on,
 *   and only its own ending, or `errorTimeout` without a sign of life, ends
 *   the job.
 */
@Injectable()
export class JobMonitor {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly tracker: JobTracker,
    private readonly client: SelfHttpClient,
    private readonly signer: RequestSigner,
  ) {}

  /**
   * Runs the job to its end. `stop` stops the monitor without ending the
   * job (a shutdown lets go of it). Never throws.
   */
  async run(job: MonitoredJob, stop: MonitorStop): Promise<void> {
    const watchdog = this.startWatchdog(job, stop);
    try {
      const outcome = await this.sendWorker(job, stop);
      if (typeof outcome === 'function')
        await this.endIfPending(job.id, outcome);
      else if (outcome === 'wait' && !stop.stopped) await this.untilEnded(stop);
    } catch (error) {
      if (!stop.stopped)
        this.logger.error(messages.monitorCrashedMessage(job.id, error));
    } finally {
      watchdog.stop();
    }
  }

  /**
   * How the worker request ended the job: with an ending for the monitor to
   * write; `'done'` when nothing is left to do (its handler ended the job,
   * another request claimed it, the monitor was stopped); `'wait'` when the
   * connection was lost after the claim, so that the handler's own ending
   * (or the watchdog) decides.
   */
  private async sendWorker(
    job: MonitoredJob,
    stop: MonitorStop,
  ): Promise<WorkerOutcome> {
    const { request } = job;
    const target = { method: request.method, path: request.path };
    const headers: OutgoingHttpHeaders = {
      ...job.forwarded,
      [BACKJOB_TOKEN_HEADER]: this.signer.sign(
        job.id,
        'worker',
        target,
        this.options.requestTimeout,
      ),
    };
    if (request.contentType) headers['content-type'] = request.contentType;
    traceJob(this.logger, () =>
      messages.workerRequestTrace(job.id, this.client.describeTarget(request)),
    );
    try {
      const response = await this.client.send({
        ...target,
        query: request.query,
        headers,
        body: request.body,
        stop,
      });
      if (response.headers[BACKJOB_CLAIM_HEADER] === 'shutdown')
        return this.notRunBeforeShutdown(job);
      return endingOf(response, this.client.describeTarget(request));
    } catch (error) {
      if (stop.stopped) return 'done';
      const current = await this.tracker.find(job.id);
      if (!current || !isWaitingStatus(current.status)) return 'wait';
      const reason = messages.workerUnreachableMessage(
        this.client.describeTarget(request),
        messages.describeError(error),
      );
      return (output) => JobEndings.unreachable(output, reason);
    }
  }

  /**
   * The instance that got the worker request is shutting down and did not
   * claim the job: an anonymous one is released for another instance.
   */
  private async notRunBeforeShutdown(
    job: MonitoredJob,
  ): Promise<WorkerOutcome> {
    if (!job.anonymous) return JobEndings.notStartedBeforeShutdown;
    await this.tracker.touchWaiting([job.id], RELEASED_SIGN_OF_LIFE);
    return 'done';
  }

  private async endIfPending(id: string, ending: EndingOf): Promise<void> {
    const current = await this.tracker.find(id);
    if (!current || isFinalStatus(current.status)) return;
    const decided = ending(current.statusText);
    // The handler never ended it (a guard, a pipe, a missing route…): say why.
    if (
      (await this.tracker.end(id, decided)) &&
      decided.status === JobStatus.Failed
    )
      this.logger.warn(
        messages.monitorEndedMessage(id, decided.statusText.split('\n').pop()!),
      );
  }

  private untilEnded(stop: MonitorStop): Promise<void> {
    return new Promise((resolve) => stop.onStop(resolve));
  }

  /**
   * While the job is the monitor's, checks it now and then: once it ended
   * (its handler settled, a cancel, a sweep) or went stale, the monitor
   * stops; a worker request still unclaimed after `requestTimeout` fails it.
   */
  private startWatchdog(job: MonitoredJob, stop: MonitorStop) {
    const everyMs = Math.min(1000, (this.options.errorTimeout * 1000) / 4);
    const claimBy = Date.now() + this.options.requestTimeout * 1000;
    const check = async () => {
      const current = await this.tracker.find(job.id);
      if (!current || isFinalStatus(current.status)) return stop.stop();
      if (await this.tracker.endIfStale(current)) return stop.stop();
      if (isWaitingStatus(current.status) && Date.now() >= claimBy) {
        const reason = messages.workerUnreachableMessage(
          this.client.describeTarget(job.request),
          messages.noAnswerMessage(this.options.requestTimeout),
        );
        if (
          await this.tracker.end(
            job.id,
            JobEndings.unreachable(current.statusText, reason),
          )
        )
          this.logger.warn(messages.monitorEndedMessage(job.id, reason));
        stop.stop();
      }
    };
    // A store that is away fails every check until it is back.
    const outage = new StoreOutage();
    const timer = setInterval(() => {
      check().then(
        () => outage.ended(),
        (error: unknown) =>
          outage.failed(() =>
            this.logger.warn(
              messages.watchdogCheckFailedMessage(job.id, error, everyMs),
            ),
          ),
      );
    }, everyMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}

/** An ending, given what the job reported so far. */
type EndingOf = (output: string) => JobEnding;

type WorkerOutcome = EndingOf | 'done' | 'wait';

/** What the worker's answer means for a job whose handler did not end it. */
function endingOf(response: SelfResponse, url: string): WorkerOutcome {
  // Another worker request claimed the job (a replay): not ours to end.
  if (response.headers[BACKJOB_CLAIM_HEADER] === 'taken') return 'done';
  // The worker stored the final status itself.
  if (response.headers[BACKJOB_SETTLED_HEADER] !== undefined) return 'done';
  const unshared = unsharedKeyReason(response, 'worker', url);
  if (unshared) return (output) => JobEndings.failed(output, unshared);
  return answerEnding(response.status, response.body, url);
}
