import {
  ForbiddenException,
  Inject,
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
import { Observable, of } from 'rxjs';
import { BackJobContext } from './backjob.context.js';
import {
  BACKGROUND_WORKER_METADATA,
  BACKJOB_ACK_HEADER,
  BACKJOB_RESOLVED_OPTIONS,
  BACKJOB_TOKEN_HEADER,
} from './backjob.constants.js';
import type { ResolvedBackJobOptions } from './backjob.options.js';
import { carriesForwardedHeader } from './flow/forwarded-headers.js';
import * as messages from './backjob.messages.js';
import { InstanceState } from './flow/instance-state.js';
import { JobQueue } from './flow/job-queue.js';
import { JobWorker } from './flow/job-worker.js';
import { RequestSigner } from './flow/request-signer.js';
import { refuseUnknownKey } from './flow/unknown-key.js';
import { HttpPlatform } from './platform/http-platform.js';

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
  // Metadata never changes once the app runs: read once per handler (of
  // each class, as a subclass may mark an inherited handler).
  private readonly workerHandlers = new WeakMap<
    object,
    WeakMap<object, boolean>
  >();

  constructor(
    private readonly reflector: Reflector,
    private readonly context: BackJobContext,
    private readonly signer: RequestSigner,
    private readonly queue: JobQueue,
    private readonly worker: JobWorker,
    private readonly instance: InstanceState,
    private readonly platform: HttpPlatform,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {}

  intercept(
    execution: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> {
    if (execution.getType() !== 'http') return next.handle();
    const request = execution.switchToHttp().getRequest<object>();
    const headers = this.platform.requestHeaders(request);
    const token = headers[BACKJOB_TOKEN_HEADER];
    if (token !== undefined) {
      const internal = this.signer.verifyAny(token, {
        method: this.platform.requestMethod(request),
        path: this.platform.requestPath(request),
      });
      if (internal?.phase === 'monitor' && this.instance.shuttingDown)
        throw new ServiceUnavailableException(messages.shuttingDownMessage());
      if (internal?.phase === 'monitor')
        return this.acknowledgeMonitor(internal.jobId, execution);
      if (internal?.phase === 'worker')
        return this.worker.handle(
          internal.jobId,
          execution,
          next,
          sendsOwnResponse(execution),
        );
      const response = execution.switchToHttp().getResponse<object>();
      refuseUnknownKey(this.signer, token, (name, value) =>
        this.platform.setHeader(response, name, value),
      );
    }
    if (this.isBackgroundWorker(execution))
      throw new ForbiddenException(messages.workerOnlyMessage());
    // Entering a context costs every request: only one with credentials
    // to forward needs it (start() without one runs the job anonymously).
    if (!carriesForwardedHeader(headers, this.options.forwardHeaders))
      return next.handle();
    return new Observable((subscriber) =>
      this.context.run({ headers }, () => next.handle().subscribe(subscriber)),
    );
  }

  private acknowledgeMonitor(
    jobId: string,
    execution: ExecutionContext,
  ): Observable<unknown> {
    const http = execution.switchToHttp();
    const response = http.getResponse<object>();
    this.queue.admitFromMonitorRequest(
      jobId,
      this.platform.requestHeaders(http.getRequest<object>()),
    );
    this.platform.setHeader(response, BACKJOB_ACK_HEADER, jobId);
    const acknowledgement = { backjob: 'monitor', jobId };
    if (!sendsOwnResponse(execution)) {
      this.platform.setStatus(response, 202);
      return of(acknowledgement);
    }
    // The handler would have sent the response itself (@Res()): Nest will not.
    this.platform.endWithJson(response, 202, acknowledgement);
    return of(undefined);
  }

  private isBackgroundWorker(execution: ExecutionContext): boolean {
    const [handler, controller] = [
      execution.getHandler(),
      execution.getClass(),
    ];
    let ofClass = this.workerHandlers.get(controller);
    if (!ofClass)
      this.workerHandlers.set(controller, (ofClass = new WeakMap()));
    let marked = ofClass.get(handler);
    if (marked === undefined) {
      marked = !!this.reflector.getAllAndOverride<boolean>(
        BACKGROUND_WORKER_METADATA,
        [handler, controller],
      );
      ofClass.set(handler, marked);
    }
    return marked;
  }
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
