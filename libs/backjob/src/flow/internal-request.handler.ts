import { Inject, Injectable } from '@nestjs/common';
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  ServerResponse,
} from 'node:http';
import { BackJobContext } from '../backjob.context.js';
import {
  BACKJOB_ACK_HEADER,
  BACKJOB_RESOLVED_OPTIONS,
  BACKJOB_TOKEN_HEADER,
  BACKJOB_UNKNOWN_KEY_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { HttpPlatform } from '../platform/http-platform.js';
import { carriesForwardedHeader } from './forwarded-headers.js';
import { InstanceState } from './instance-state.js';
import { JobQueue } from './job-queue.js';
import { JobWorker } from './job-worker.js';
import { RequestSigner } from './request-signer.js';
import { UnknownKeyLog } from './unknown-key.js';

/**
 * Where every request of the app meets BackJob, before its routes and
 * guards (`HttpPlatform.beforeRoutes`). Not a global interceptor: Nest's
 * interceptor pipeline costs every route even when it only passes the call
 * on (a fifth of a small route's throughput, measured); not a Nest
 * middleware either, which on Fastify brings @fastify/middie's path
 * matching to every request. This costs a header lookup.
 * - A signed *ping* of the startup self-check is answered 204.
 * - A signed *monitor* request is acknowledged 202 and hands its job to
 *   this instance's `JobQueue` (a shutting-down instance refuses it, 503);
 *   no route runs.
 * - A signed *worker* request runs its route as the job (`JobWorker`).
 * - One signed with a key this instance lacks is refused (403) with a
 *   header that lets its sender name the key.
 * - Any other request goes on; one with credentials to forward runs in a
 *   context that lets `start()` forward them (without any, a job runs
 *   anonymously, and entering a context would cost every request).
 */
@Injectable()
export class InternalRequestHandler {
  private readonly unknownKeys: UnknownKeyLog;

  constructor(
    private readonly signer: RequestSigner,
    private readonly platform: HttpPlatform,
    private readonly context: BackJobContext,
    private readonly queue: JobQueue,
    private readonly worker: JobWorker,
    private readonly instance: InstanceState,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {
    this.unknownKeys = new UnknownKeyLog(signer);
  }

  handle(
    request: IncomingMessage,
    response: ServerResponse,
    next: () => void,
  ): void {
    const headers = this.platform.requestHeaders(request);
    const token = headers[BACKJOB_TOKEN_HEADER];
    if (token !== undefined) {
      const internal = this.signer.verifyAny(token, {
        method: this.platform.requestMethod(request),
        path: this.platform.requestPath(request),
      });
      if (internal?.phase === 'ping')
        return this.platform.endEarly(response, 204, {
          [BACKJOB_ACK_HEADER]: internal.jobId,
        });
      if (internal?.phase === 'monitor')
        return this.acknowledgeMonitor(internal.jobId, headers, response);
      if (internal?.phase === 'worker')
        return void this.worker.run(internal.jobId, request, response, next);
      const keyId = this.unknownKeys.keyIdOf(token);
      if (keyId !== null)
        return this.platform.endEarly(
          response,
          403,
          { [BACKJOB_UNKNOWN_KEY_HEADER]: keyId },
          { statusCode: 403, message: messages.unknownKeyRefusal() },
        );
    }
    if (!carriesForwardedHeader(headers, this.options.forwardHeaders))
      return next();
    this.context.run({ headers }, next);
  }

  private acknowledgeMonitor(
    jobId: string,
    headers: IncomingHttpHeaders,
    response: ServerResponse,
  ): void {
    if (this.instance.shuttingDown)
      return this.platform.endEarly(
        response,
        503,
        {},
        { statusCode: 503, message: messages.shuttingDownMessage() },
      );
    this.queue.admitFromMonitorRequest(jobId, headers);
    this.platform.endEarly(
      response,
      202,
      { [BACKJOB_ACK_HEADER]: jobId },
      { backjob: 'monitor', jobId },
    );
  }
}
