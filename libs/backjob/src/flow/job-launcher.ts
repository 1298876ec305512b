import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHmac, randomUUID } from 'node:crypto';
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
import { SelfHttpClient } from './self-http.client.js';
import { unsharedKeyReason } from './unknown-key.js';

// The monitor request is sent at once: its token only has to outlive a slow
// loopback or load balancer, and a replay later than this is refused.
const MONITOR_TOKEN_SECONDS = 60;

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

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly tracker: JobTracker,
    private readonly client: SelfHttpClient,
    private readonly signer: RequestSigner,
    private readonly context: BackJobContext,
    private readonly queue: JobQueue,
    private readonly instance: InstanceState,
  ) {}

  async start(
    request: JobRequest,
    startOptions: StartJobOptions = {},
  ): Promise<string> {
    this.instance.assertRunning();
    // Everything is checked before anything is written or sent.
    const normalized = normalizeJobRequest(request, this.client.prefixFor);
    checkBodySize(normalized.body, this.options.maxRequestBytes);
    const delaySeconds = checkDelay(startOptions.delay);
    const scope = checkScope(startOptions.scope);
    const forwarded =
      startOptions.withUserCookies === false
        ? {}
        : pickForwardedHeaders(
            this.context.state?.headers,
            this.options.forwardHeaders,
            (name) => this.logger.warn(messages.droppedHeaderMessage(name)),
          );
    const merge = startOptions.merge ?? this.options.mergeIdentical;
    const now = Date.now();
    const anonymous = Object.keys(forwarded).length === 0;
    const startTime = now + delaySeconds * 1000;
    const record: JobRecord = {
      id: randomUUID(),
      scope,
      progress: 0,
      status: JobStatus.Started,
      startTime,
      updatedTime: now,
      endTime: null,
      request: JSON.stringify(normalized),
      statusText: '',
      mergeKey: merge ? this.mergeKey(normalized, scope, forwarded) : null,
      anonymous,
    };
    const { id, merged } = await this.tracker.insert(record);
    if (merged) return id;
    if (this.options.monitorRequest)
      await this.handToMonitor(id, normalized, forwarded);
    else
      this.queue.admit({
        id,
        request: normalized,
        forwarded,
        // As stored: the store may have moved it to the time of its write.
        dueAt: record.startTime,
        anonymous,
      });
    return id;
  }

  /**
   * Identical requests of the same caller share a key; an HMAC, so that the
   * key tells nothing about the credentials it was made from.
   */
  private mergeKey(
    request: NormalizedJobRequest,
    scope: string,
    forwarded: OutgoingHttpHeaders,
  ): string {
    const identity = JSON.stringify([
      request,
      scope,
      Object.entries(forwarded).sort(),
    ]);
    return createHmac('sha256', this.options.key)
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
    this.logger.error(reason);
    await this.tracker.end(id, JobEndings.unreachable('', reason));
  }
}

/** The delay in seconds; a delay that is not a number is refused, not ignored. */
function checkDelay(delay: unknown): number {
  if (delay === undefined) return 0;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0)
    throw new InvalidJobRequestError(messages.invalidDelayMessage(delay));
  return delay;
}
