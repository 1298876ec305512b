import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  BACKJOB_ACK_HEADER,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
  BACKJOB_TOKEN_HEADER,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { HttpPlatform } from '../platform/http-platform.js';
import { InstanceState } from './instance-state.js';
import { RequestSigner } from './request-signer.js';
import { SelfHttpClient } from './self-http.client.js';
import { unsharedKeyReason } from './unknown-key.js';

/**
 * Once the app listens, makes one signed request to itself the way jobs
 * will, and logs how to fix it when that fails: an app that cannot reach
 * itself (a container port, a proxy) was the original's most common failure.
 */
@Injectable()
export class SelfCheckService implements OnApplicationBootstrap {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  constructor(
    private readonly platform: HttpPlatform,
    private readonly client: SelfHttpClient,
    private readonly signer: RequestSigner,
    private readonly instance: InstanceState,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.platform.whenListening(() => void this.check());
  }

  /** True when the app answered its own signed ping. Never throws. */
  async check(): Promise<boolean> {
    const nonce = randomUUID();
    const path = `/${this.client.globalPrefix.replace(/^\/|\/$/g, '')}`;
    const url = this.client.describeTarget({ path });
    try {
      const response = await this.client.send({
        method: 'GET',
        path,
        headers: {
          [BACKJOB_TOKEN_HEADER]: this.signer.sign(
            nonce,
            'ping',
            { method: 'GET', path },
            30,
          ),
        },
        // An address that takes the connection and never answers (a port
        // another process holds) is as wrong as one that refuses it.
        timeoutSeconds: this.options.requestTimeout,
      });
      if (response.headers[BACKJOB_ACK_HEADER] === nonce) return true;
      this.report(
        unsharedKeyReason(response, 'ping', url) ??
          messages.selfCheckFailedMessage(
            url,
            messages.answeredMessage(response.status, response.body),
          ),
      );
    } catch (error) {
      this.report(
        messages.selfCheckFailedMessage(url, messages.describeError(error)),
      );
    }
    return false;
  }

  private report(message: string): void {
    // An app closed right after it listened cuts its own ping short: no
    // address to fix there.
    if (!this.instance.shuttingDown) this.logger.error(message);
  }
}
