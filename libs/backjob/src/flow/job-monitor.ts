import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BACKJOB_CLAIM_HEADER,
  BACKJOB_SETTLED_HEADER,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
  BACKJOB_TOKEN_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { JobStatus, isFinalStatus } from '../interfaces/job-status.enum.js';
import { appendLine, JobTracker } from '../storage/job-tracker.js';
import { pickForwardedHeaders } from './forwarded-headers.js';
import type { NormalizedJobRequest } from './job-request.normalizer.js';
import { RequestSigner } from './request-signer.js';
import { SelfHttpClient, type SelfResponse } from './self-http.client.js';

/**
 * Step 2 of a job: the monitor, started by the internal monitor request. It
 * waits for the job's start time, sends the worker request to the real route
 * as the caller, watches for updates while it runs, and makes sure the job
 * ends: completed on a 2xx answer, failed on anything else, on a connection
 * error, or when no update came for `errorTimeout`.
 */
@Injectable()
export class JobMonitor implements OnApplicationShutdown {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  private readonly shutdown = new AbortController();

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly tracker: JobTracker,
    private readonly client: SelfHttpClient,
    private readonly signer: RequestSigner,
  ) {}

  /** Runs the monitor of a job in the background; never throws. */
  supervise(jobId: string, monitorHeaders: IncomingHttpHeaders): void {
    const forwarded = pickForwardedHeaders(
      monitorHeaders,
      this.options.forwardHeaders,
    );
    this.run(jobId, forwarded).catch((error) => {
      // Shut down while a delayed job waited: the sweep of another instance ends it.
      if (this.shutdown.signal.aborted) return;
      this.logger.error(messages.monitorCrashedMessage(jobId, error));
    });
  }

  onApplicationShutdown(): void {
    this.shutdown.abort();
  }

  private async run(
    jobId: string,
    forwarded: OutgoingHttpHeaders,
  ): Promise<void> {
    const job = await this.tracker.find(jobId);
    if (!job || job.status !== JobStatus.Started) return;
    const waitMs = job.startTime - Date.now();
    if (waitMs > 0)
      await sleep(waitMs, undefined, { signal: this.shutdown.signal });
    const request = JSON.parse(job.request) as NormalizedJobRequest;
    const outcome = await this.sendWorker(jobId, request, forwarded);
    if (outcome.kind === 'settled') return;
    const current = await this.tracker.find(jobId);
    if (!current || isFinalStatus(current.status)) return;
    await this.tracker.end(jobId, outcome.ending(current.statusText));
  }

  private async sendWorker(
    jobId: string,
    request: NormalizedJobRequest,
    forwarded: OutgoingHttpHeaders,
  ): Promise<WorkerOutcome> {
    const target = { method: request.method, path: request.path };
    const headers: OutgoingHttpHeaders = {
      ...forwarded,
      [BACKJOB_TOKEN_HEADER]: this.signer.sign(
        jobId,
        'worker',
        target,
        this.options.errorTimeout,
      ),
    };
    if (request.contentType) headers['content-type'] = request.contentType;
    const aborter = new AbortController();
    const watchdog = this.startWatchdog(jobId, aborter);
    try {
      const response = await this.client.send({
        ...target,
        query: request.query,
        headers,
        body: request.body,
        signal: aborter.signal,
      });
      return outcomeOf(response);
    } catch (error) {
      // The watchdog aborted it: the job has ended already.
      if (aborter.signal.aborted) return { kind: 'settled' };
      const url = this.client.describeTarget(request);
      return failedWith(
        messages.workerUnreachableMessage(url, messages.describeError(error)),
      );
    } finally {
      clearInterval(watchdog);
    }
  }

  /**
   * While the worker request is open, checks the job now and then: once it
   * has ended (its handler settled, or a sweep failed it) or has timed out,
   * the request is aborted so that nothing waits on it.
   */
  private startWatchdog(
    jobId: string,
    aborter: AbortController,
  ): NodeJS.Timeout {
    const everyMs = Math.min(5000, (this.options.errorTimeout * 1000) / 4);
    const check = async () => {
      const job = await this.tracker.find(jobId);
      if (!job) return aborter.abort();
      if (this.tracker.isStale(job)) {
        await this.tracker.failTimedOut(job);
        return aborter.abort();
      }
      if (isFinalStatus(job.status)) aborter.abort();
    };
    const timer = setInterval(() => {
      check().catch((error) =>
        this.logger.warn(messages.monitorCrashedMessage(jobId, error)),
      );
    }, everyMs);
    timer.unref();
    return timer;
  }
}

type WorkerOutcome =
  | { kind: 'settled' }
  | {
      kind: 'answered';
      ending: (textSoFar: string) => Parameters<JobTracker['end']>[1];
    };

function failedWith(reason: string): WorkerOutcome {
  return {
    kind: 'answered',
    ending: (textSoFar) => ({
      status: JobStatus.Failed,
      statusText: appendLine(textSoFar, reason),
    }),
  };
}

/** What the worker's answer means for a job its handler did not end itself. */
function outcomeOf(response: SelfResponse): WorkerOutcome {
  // Another worker request claimed the job (a replay): not ours to end.
  if (response.headers[BACKJOB_CLAIM_HEADER] === 'taken')
    return { kind: 'settled' };
  // The worker stored the final status itself.
  if (response.headers[BACKJOB_SETTLED_HEADER] !== undefined)
    return { kind: 'settled' };
  if (response.status >= 200 && response.status < 300) {
    return {
      kind: 'answered',
      ending: () => ({
        status: JobStatus.Completed,
        statusText: response.body,
        progress: 100,
      }),
    };
  }
  return failedWith(
    messages.workerFailedMessage(response.status, response.body),
  );
}
