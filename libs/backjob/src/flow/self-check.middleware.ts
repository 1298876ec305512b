import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BACKJOB_ACK_HEADER,
  BACKJOB_TOKEN_HEADER,
} from '../backjob.constants.js';
import { RequestSigner } from './request-signer.js';

/**
 * Answers the signed ping of the startup self-check. A middleware, not the
 * interceptor: the ping must be answered on a path no route may serve.
 */
@Injectable()
export class SelfCheckMiddleware implements NestMiddleware {
  constructor(private readonly signer: RequestSigner) {}

  use(
    request: IncomingMessage & { originalUrl?: string },
    response: ServerResponse,
    next: () => void,
  ): void {
    const token = request.headers[BACKJOB_TOKEN_HEADER];
    const path = (request.originalUrl ?? request.url ?? '').split('?')[0];
    const nonce =
      token === undefined
        ? null
        : this.signer.verify(token, 'ping', {
            method: request.method ?? '',
            path,
          });
    if (!nonce) return next();
    response.statusCode = 204;
    response.setHeader(BACKJOB_ACK_HEADER, nonce);
    response.end();
  }
}
