import {
  ForbiddenException,
  Injectable,
  ServiceUnavailableException,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import {
  ROUTE_ARGS_METADATA,
  RESPONSE_PASSTHROUGH_METADATA,
} from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Observable, of } from 'rxjs';
import { BackJobContext } from './backjob.context.js';
import {
  BACKGROUND_WORKER_METADATA,
  BACKJOB_ACK_HEADER,
  BACKJOB_TOKEN_HEADER,
} from './backjob.constants.js';
import * as messages from './backjob.messages.js';
import { InstanceState } from './flow/instance-state.js';
import { JobQueue } from './flow/job-queue.js';
import { JobWorker } from './flow/job-worker.js';
import { RequestSigner } from './flow/request-signer.js';
import { refuseUnknownKey } from './flow/unknown-key.js';

/**
 * The global interceptor. Every HTTP request passes through it:
 * - a signed *monitor* request (sent with `monitorRequest`) is acknowledged
 *   at once and hands its job to this instance's `JobQueue` (the handler
 *   does not run); a shutting-down instance refuses it with 503;
 * - a signed *worker* request runs the handler as the job (`JobWorker`);
 * - any other request runs in a context that lets `start()` forward the
 *   caller's credentials, and is refused (403) by `@BackgroundWorker()` handlers.
 */
@Injectable()
export class BackJobInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly context: BackJobContext,
    private readonly signer: RequestSigner,
    private readonly queue: JobQueue,
    private readonly worker: JobWorker,
    private readonly instance: InstanceState,
  ) {}

  intercept(
    execution: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> {
    if (execution.getType() !== 'http') return next.handle();
    const request = execution
      .switchToHttp()
      .getRequest<IncomingMessage & { originalUrl?: string }>();
    const token = request.headers[BACKJOB_TOKEN_HEADER];
    if (token !== undefined) {
      const target = { method: request.method ?? '', path: pathOf(request) };
      const monitoredJob = this.signer.verify(token, 'monitor', target);
      if (monitoredJob && this.instance.shuttingDown)
        throw new ServiceUnavailableException(messages.shuttingDownMessage());
      if (monitoredJob) return this.acknowledgeMonitor(monitoredJob, execution);
      const workerJob = this.signer.verify(token, 'worker', target);
      if (workerJob)
        return this.worker.handle(
          workerJob,
          execution,
          next,
          sendsOwnResponse(execution),
        );
      refuseUnknownKey(
        this.signer,
        token,
        execution.switchToHttp().getResponse<ServerResponse>(),
      );
    }
    if (this.isBackgroundWorker(execution))
      throw new ForbiddenException(messages.workerOnlyMessage());
    return new Observable((subscriber) =>
      this.context.run({ headers: request.headers }, () =>
        next.handle().subscribe(subscriber),
      ),
    );
  }

  private acknowledgeMonitor(
    jobId: string,
    execution: ExecutionContext,
  ): Observable<unknown> {
    const http = execution.switchToHttp();
    const response = http.getResponse<ServerResponse>();
    this.queue.admitFromMonitorRequest(
      jobId,
      http.getRequest<IncomingMessage>().headers,
    );
    response.setHeader(BACKJOB_ACK_HEADER, jobId);
    response.statusCode = 202;
    const acknowledgement = { backjob: 'monitor', jobId };
    if (!sendsOwnResponse(execution)) return of(acknowledgement);
    // The handler would have sent the response itself (@Res()): Nest will not.
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(acknowledgement));
    return of(undefined);
  }

  private isBackgroundWorker(execution: ExecutionContext): boolean {
    return !!this.reflector.getAllAndOverride<boolean>(
      BACKGROUND_WORKER_METADATA,
      [execution.getHandler(), execution.getClass()],
    );
  }
}

/** The path the request was sent to, as the signer saw it: global prefix included. */
function pathOf(request: IncomingMessage & { originalUrl?: string }): string {
  const url = request.originalUrl ?? request.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** True for handlers that take `@Res()` or `@Next()` without passthrough. */
function sendsOwnResponse(execution: ExecutionContext): boolean {
  const controller = execution.getClass();
  const method = execution.getHandler().name;
  const params: Record<string, unknown> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {};
  const takesResponse = Object.keys(params).some((key) => {
    const type = Number(key.split(':')[0]);
    return type === RouteParamtypes.RESPONSE || type === RouteParamtypes.NEXT;
  });
  return (
    takesResponse &&
    !Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, controller, method)
  );
}
