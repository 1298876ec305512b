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
import { JobStatus } from '../interfaces/job-status.enum.js';
import { JobTracker } from '../storage/job-tracker.js';
import { pickForwardedHeaders } from './forwarded-headers.js';
import {
  normalizeJobRequest,
  type NormalizedJobRequest,
} from './job-request.normalizer.js';
import { RequestSigner } from './request-signer.js';
import { SelfHttpClient } from './self-http.client.js';

// The monitor request is sent at once: its token only has to outlive a slow
// loopback or load balancer, and a replay later than this is refused.
const MONITOR_TOKEN_SECONDS = 60;

/**
 * Step 1 of a job: `start()` records it and hands it to a monitor through an
 * internal request, which acknowledges at once. A job whose monitor cannot be
 * reached is failed there and then, never left waiting.
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
  ) {}

  async start(
    request: JobRequest,
    startOptions: StartJobOptions = {},
  ): Promise<string> {
    const normalized = normalizeJobRequest(request, this.client.prefixFor);
    const delaySeconds = this.checkDelay(startOptions.delay);
    const scope = startOptions.scope ?? '';
    const forwarded =
      startOptions.withUserCookies === false
        ? {}
        : pickForwardedHeaders(
            this.context.state?.headers,
            this.options.forwardHeaders,
          );
    const merge = startOptions.merge ?? this.options.mergeIdentical;
    const now = Date.now();
    const { id, merged } = await this.tracker.insert({
      id: randomUUID(),
      scope,
      progress: 0,
      status: JobStatus.Started,
      startTime: now + delaySeconds * 1000,
      updatedTime: now,
      endTime: null,
      request: JSON.stringify(normalized),
      statusText: '',
      mergeKey: merge ? this.mergeKey(normalized, scope, forwarded) : null,
      anonymous: Object.keys(forwarded).length === 0,
    });
    if (!merged) await this.handToMonitor(id, normalized, forwarded);
    return id;
  }

  private checkDelay(delay: number | undefined): number {
    if (delay === undefined || !Number.isFinite(delay) || delay <= 0) return 0;
    if (delay > this.options.errorTimeout) {
      throw new InvalidJobRequestError(
        messages.delayTooLongMessage(delay, this.options.errorTimeout),
      );
    }
    return delay;
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
      });
      if (response.headers[BACKJOB_ACK_HEADER] === id) return;
      await this.failLaunch(
        id,
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

  private async failLaunch(id: string, statusText: string): Promise<void> {
    this.logger.error(statusText);
    await this.tracker.end(id, { status: JobStatus.Failed, statusText });
  }
}
