import { Injectable, Logger } from '@nestjs/common';
import {
  catchError,
  EMPTY,
  filter,
  from,
  map,
  merge,
  mergeMap,
  share,
  type Observable,
} from 'rxjs';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { JobChangeRelay } from '../feed/job-change.relay.js';
import { JobFeedService } from '../feed/job-feed.service.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import { JobTracker } from '../storage/job-tracker.js';

/**
 * Jobs as they end, as final snapshots: those this instance ended (each
 * ending is written by exactly one instance, the one whose conditional
 * write won), and, over Redis, those the others ended. Each ended job is
 * read once, however many subscribe.
 */
@Injectable()
export class JobEndStream {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  /** The jobs this instance ended. */
  readonly local: Observable<JobStatusSnapshot>;
  /** Those, and the jobs other instances ended when they share a Redis. */
  readonly everywhere: Observable<JobStatusSnapshot>;

  constructor(
    private readonly tracker: JobTracker,
    private readonly feed: JobFeedService,
    relay: JobChangeRelay,
  ) {
    this.local = tracker.endings.pipe(
      mergeMap(({ id }) => this.finalSnapshot(id)),
      share(),
    );
    this.everywhere = merge(
      this.local,
      relay.remoteEndings.pipe(mergeMap((id) => this.finalSnapshot(id))),
    ).pipe(share());
  }

  /** The job as it ended; nothing when it is gone or cannot be read (logged). */
  private finalSnapshot(id: string): Observable<JobStatusSnapshot> {
    return from(this.tracker.find(id)).pipe(
      filter((job) => job !== null),
      map((job) => this.feed.snapshot(job)),
      catchError((error: unknown) => {
        this.logger.warn(messages.endedJobUnreadableMessage(id, error));
        return EMPTY;
      }),
    );
  }
}
