import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BACKJOB_ACK_HEADER,
  BACKJOB_TOKEN_HEADER,
  BACKJOB_UNKNOWN_KEY_HEADER,
} from '../backjob.constants.js';
import { HttpPlatform } from '../platform/http-platform.js';
import { RequestSigner } from './request-signer.js';
import { unknownKeyOf } from './unknown-key.js';

/**
 * Answers the signed ping of the startup self-check, and refuses one signed
 * with a key this instance does not have. A middleware, not the
 * interceptor: the ping must be answered on a path no route may serve.
 * Nest hands middleware the Node request and response on Fastify and
 * Express's own on Express; the platform seam reads both.
 */
@Injectable()
export class SelfCheckMiddleware implements NestMiddleware {
  constructor(
    private readonly signer: RequestSigner,
    private readonly platform: HttpPlatform,
  ) {}

  use(
    request: IncomingMessage,
    response: ServerResponse,
    next: () => void,
  ): void {
    const token = this.platform.requestHeaders(request)[BACKJOB_TOKEN_HEADER];
    const nonce =
      token === undefined
        ? null
        : this.signer.verify(token, 'ping', {
            method: this.platform.requestMethod(request),
            path: this.platform.requestPath(request),
          });
    if (nonce) {
      this.platform.endEarly(response, 204, { [BACKJOB_ACK_HEADER]: nonce });
      return;
    }
    // A ping signed with a key this instance lacks (an instance of another
    // deployment, or a rotation half done, behind baseUrl) is refused as a
    // worker request would be, so that its sender names the key rather than
    // reporting the app unreachable.
    const keyId =
      token === undefined ? null : unknownKeyOf(this.signer, token, 'ping');
    if (keyId === null) return next();
    this.platform.endEarly(response, 403, {
      [BACKJOB_UNKNOWN_KEY_HEADER]: keyId,
    });
  }
}
