import {
  Get,
  Header,
  NotFoundException,
  Param,
  Sse,
  UseFilters,
  UseGuards,
  type MessageEvent,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import * as messages from '../backjob.messages.js';
import { BackJobService } from '../backjob.service.js';
import { BackJobExceptionFilter } from '../errors/backjob-exception.filter.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import { JobAccessGuard } from './job-access.guard.js';
import { toJobEvents } from './job-events.js';

/**
 * The routes of `BackJobLiveModule`, mounted at its `path` (the module
 * gives each mount its own subclass with `@Controller(path)`).
 */
@UseGuards(JobAccessGuard)
@UseFilters(BackJobExceptionFilter)
export class JobLiveController {
  constructor(private readonly backjob: BackJobService) {}

  /** The job's status as JSON, for clients that poll. */
  @Get(':id')
  @Header('cache-control', 'no-store')
  async status(@Param('id') id: string): Promise<JobStatusSnapshot> {
    const status = await this.backjob.getStatus(id);
    if (!status) throw new NotFoundException(messages.jobNotFoundMessage(id));
    return status;
  }

  /** The job's snapshots as Server-Sent Events: the current one first. */
  @Sse(':id/events')
  events(@Param('id') id: string): Observable<MessageEvent> {
    return this.backjob.watch(id).pipe(toJobEvents());
  }
}
