import {
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import * as messages from '../backjob.messages.js';
import { BackJobService } from '../backjob.service.js';
import { BACKJOB_LIVE_OPTIONS } from './backjob-live.constants.js';
import type { BackJobLiveOptions } from './backjob-live-options.interface.js';

/**
 * Lets a request read the job of its `:id` parameter only when the app's
 * `canWatch()` says so. A guard, not a check in the handler: guards run
 * before Nest starts an event stream, so a refusal is a real 403 (or 404)
 * that an `EventSource` does not retry, instead of an error event after a 200.
 */
@Injectable()
export class JobAccessGuard implements CanActivate {
  constructor(
    private readonly backjob: BackJobService,
    @Inject(BACKJOB_LIVE_OPTIONS) private readonly options: BackJobLiveOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context
      .switchToHttp()
      .getRequest<IncomingMessage & { params?: Record<string, string> }>();
    const id = request.params?.id ?? '';
    const scope = await this.backjob.getScope(id);
    if (scope === null)
      throw new NotFoundException(messages.jobNotFoundMessage(id));
    if (!(await this.options.canWatch({ id, scope }, request)))
      throw new ForbiddenException(messages.watchDeniedMessage());
    return true;
  }
}
