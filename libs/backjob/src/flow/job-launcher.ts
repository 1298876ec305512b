import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { BackJobContext } from '../backjob.context.js';
import {
  BACKJOB_ACK_HEADER,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
  BACKJOB_TOKEN_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { InvalidJobRequestError } from '../errors/invalid-job-request.error.js';
import type {
  JobRequest,
  StartJobOptions,
} from '../interfaces/job-request.interface.js';
import { newJobId } from '../lifecycle/job-id.js';
import { JobEndings, JobStatus } from '../lifecycle/job-lifecycle.js';
import type { JobRecord } from '../storage/job-store.js';
import { JobTracker } from '../storage/job-tracker.js';
import { pickForwardedHeaders } from './forwarded-headers.js';
import {
  normalizeJobRequest,
  type NormalizedJobRequest,
} from './job-request.normalizer.js';
import { InstanceState } from './instance-state.js';
import { JobQueue } from './job-queue.js';
import { checkBodySize, checkScope } from './job-request.check.js';
import { RequestSigner } from './request-signer.js';
import { traceJob } from './job-trace.js';
import { SelfHttpClient } from './self-http.client.js';
import { unsharedKeyReason } from './unknown-key.js';

/** A checked request, ready to be recorded and handed over. */
interface Launch {
  request: NormalizedJobRequest;
  scope: string;
  delaySeconds: number;
  forwarded: Forwarded;
  merge: boolean;
  retryOf: string | null;
}

interface Forwarded {
  headers: OutgoingHttpHeaders;
  dropped: string[];
}

// The monitor request is sent at once: its token only has to outlive a slow
// loopback or load balancer, and a replay later than this is refused.
const MONITOR_TOKEN_SECONDS = 60;

// A hundred years: the due time stays a date every store and `Date` can hold.
const MAX_DELAY_SECONDS = 100 * 365.25 * 24 * 3600;

/**
 * Step 1 of a job: `start()` records it and hands it over at once. Without
 * `monitorRequest`, to this instance's `JobQueue` (no HTTP round trip);
 * with it, through a signed monitor request to `baseUrl`, whichever
 * instance answers it. A job whose monitor cannot be reached is failed
 * there and then, never left waiting.
 */
@Injectable()
export class JobLauncher {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  // Made once: a string key is turned into a key object at every createHmac().
  private readonly mergeSecret: KeyObject;

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly tracker: JobTracker,
    private readonly client: SelfHttpClient,
    private readonly signer: RequestSigner,
    private readonly context: BackJobContext,
    private readonly queue: JobQueue,
    private readonly instance: InstanceState,
  ) {
    this.mergeSecret = createSecretKey(Buffer.from(options.key));
  }

  async start(
    request: JobRequest,
    startOptions: StartJobOptions = {},
  ): Promise<string> {
    this.instance.assertRunning();
    // Everything is checked before anything is written or sent.
    const normalized = normalizeJobRequest(request, this.client.prefixFor);
    checkBodySize(normalized.body, this.options.maxRequestBytes);
    checkStartOptions(startOptions);
    return this.launch({
      request: normalized,
      scope: checkScope(startOptions.scope),
      delaySeconds: checkDelay(startOptions.delay),
      forwarded: this.forwardedHeaders(startOptions.withUserCookies),
      merge: startOptions.merge ?? this.options.mergeIdentical,
      retryOf: null,
    });
  }

  /**
   * Starts `job`'s request again as a new job, in its scope, as the current
   * caller: credentials are never stored, so they come from this request.
   * Never merged, so that the new job is always linked to `job`.
   */
  restart(job: JobRecord, withUserCookies?: boolean): Promise<string> {
    this.instance.assertRunning();
    return this.launch({
      request: JSON.parse(job.request) as NormalizedJobRequest,
      scope: job.scope,
      delaySeconds: 0,
      forwarded: this.forwardedHeaders(withUserCookies),
      merge: false,
      retryOf: job.id,
    });
  }

  /** The caller's headers to forward, and the names of those that cannot be sent. */
  private forwardedHeaders(withUserCookies: boolean | undefined): Forwarded {
    const dropped: string[] = [];
    if (withUserCookies === false) return { headers: {}, dropped };
    const headers = pickForwardedHeaders(
      this.context.state?.headers,
      this.options.forwardHeaders,
      (name) => dropped.push(name),
    );
    return { headers, dropped };
  }

  private async launch(launch: Launch): Promise<string> {
    const { request, scope } = launch;
    const forwarded = launch.forwarded.headers;
    const now = Date.now();
    const anonymous = Object.keys(forwarded).length === 0;
    const startTime = now + launch.delaySeconds * 1000;
    const requestText = JSON.stringify(request);
    const record: JobRecord = {
      id: newJobId(now),
      scope,
      progress: 0,
      status: JobStatus.Started,
      startTime,
      updatedTime: now,
      endTime: null,
      request: requestText,
      statusText: '',
      mergeKey: launch.merge
        ? this.mergeKey(requestText, scope, forwarded, anonymous)
        : null,
      anonymous,
      result: null,
      retryOf: launch.retryOf,
    };
    const { id, merged } = await this.tracker.insert(record);
    // Only now is there a job to name in the warning.
    for (const name of launch.forwarded.dropped)
      this.logger.warn(messages.droppedHeaderMessage(id, name));
    if (merged) {
      traceJob(this.logger, () => messages.jobMergedTrace(id));
      return id;
    }
    traceJob(this.logger, () =>
      messages.jobRecordedTrace(id, request, launch.retryOf),
    );
    if (this.options.monitorRequest)
      await this.handToMonitor(id, request, forwarded);
    else
      this.queue.admit({
        id,
        request,
        forwarded,
        // As stored: the store may have moved it to the time of its write.
        dueAt: record.startTime,
        anonymous,
      });
    return id;
  }

  /**
   * Identical requests of the same caller share a key. With credentials, an
   * HMAC, so that the key tells nothing about them; without, a plain hash of
   * what the row holds in clear anyway (a fifth of an HMAC's cost, which was
   * a third of a burst's start()).
   */
  private mergeKey(
    requestText: string,
    scope: string,
    forwarded: OutgoingHttpHeaders,
    anonymous: boolean,
  ): string {
    // JSON texts side by side: each one ends where it must, so two
    // different identities never read the same.
    const identity = `[${requestText},${JSON.stringify(scope)},${JSON.stringify(Object.entries(forwarded).sort())}]`;
    if (anonymous) return hash('sha256', identity, 'hex');
    return createHmac('sha256', this.mergeSecret)
      .update(identity)
      .digest('hex');
  }

  private async handToMonitor(
    id: string,
    request: NormalizedJobRequest,
    forwarded: OutgoingHttpHeaders,
  ) {
    const target = { method: request.method, path: request.path };
    const url = this.client.describeTarget(request);
    try {
      const response = await this.client.send({
        ...target,
        query: request.query,
        headers: {
          ...forwarded,
          [BACKJOB_TOKEN_HEADER]: this.signer.sign(
            id,
            'monitor',
            target,
            MONITOR_TOKEN_SECONDS,
          ),
        },
        timeoutSeconds: this.options.requestTimeout,
      });
      if (response.headers[BACKJOB_ACK_HEADER] === id) return;
      await this.failLaunch(
        id,
        unsharedKeyReason(response, 'monitor', url) ??
          messages.monitorRefusedMessage(
            url,
            messages.answeredMessage(response.status, response.body),
          ),
      );
    } catch (error) {
      await this.failLaunch(
        id,
        messages.monitorUnreachableMessage(url, messages.describeError(error)),
      );
    }
  }

  private async failLaunch(id: string, reason: string): Promise<void> {
    this.logger.error(messages.forJob(id, reason));
    await this.tracker.end(id, JobEndings.unreachable('', reason));
  }
}

/** The options are an object, and its flags true or false (a truthy 'no' would read as true). */
function checkStartOptions(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidJobRequestError(
      messages.invalidStartOptionsMessage(options),
    );
  for (const name of ['withUserCookies', 'merge'] as const) {
    const value = (options as StartJobOptions)[name];
    if (value !== undefined && typeof value !== 'boolean')
      throw new InvalidJobRequestError(
        messages.invalidStartFlagMessage(name, value),
      );
  }
}

/** The delay in seconds; a delay that is not a number is refused, not ignored. */
function checkDelay(delay: unknown): number {
  if (delay === undefined) return 0;
  if (
    typeof delay !== 'number' ||
    !Number.isFinite(delay) ||
    delay < 0 ||
    delay > MAX_DELAY_SECONDS
  )
    throw new InvalidJobRequestError(messages.invalidDelayMessage(delay));
  return delay;
}
