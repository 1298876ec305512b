import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { outsideRequests } from '../backjob.context.js';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import {
  heartbeatIntervalMs,
  isWaitingStatus,
  JobEndings,
  RELEASED_SIGN_OF_LIFE,
} from '../lifecycle/job-lifecycle.js';
import type { JobRecord } from '../storage/job-store.js';
import { JobTracker } from '../storage/job-tracker.js';
import { pickForwardedHeaders } from './forwarded-headers.js';
import { JobMonitor, type MonitoredJob } from './job-monitor.js';
import type { NormalizedJobRequest } from './job-request.normalizer.js';
import { MonitorStop } from './monitor-stop.js';
import { HttpPlatform } from '../platform/http-platform.js';

/** A job waiting in this instance. */
export interface QueuedJob extends MonitoredJob {
  /** Epoch ms before which it must not start (its delay). */
  dueAt: number;
}

/** What closing the queue did with the jobs that waited in it. */
export interface QueueCloseResult {
  /** Anonymous jobs left in the store, Started, for another instance. */
  released: number;
  /** Jobs that ran as a user: failed, since their credentials exist only here. */
  failed: number;
  /** Of both, those whose new state the store did not take (in time). */
  unrecorded: number;
}

/** How long a shutdown waits for one of its writes: see `JobDrain`. */
export type ShutdownWriteBound = <T>(write: Promise<T>) => Promise<T>;

const UNBOUNDED: ShutdownWriteBound = (write) => write;

/** The longest delay a Node timer takes (about 24.8 days). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * Step 2 of a job: the jobs of this instance, from `start()` (or a monitor
 * request, or a sweep that took an abandoned job over) to their monitor. At
 * most `maxConcurrentJobs` run at once; the others wait here in order, as
 * Started rows with no socket and no open request, and start as others end.
 * Delayed jobs wait the same way until they are due. A heartbeat keeps the
 * waiting rows alive, so that only this instance's death makes them stale.
 */
@Injectable()
export class JobQueue implements OnApplicationBootstrap {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  private readonly ready: QueuedJob[] = [];
  private readonly delayed = new Map<
    string,
    { job: QueuedJob; timer: NodeJS.Timeout }
  >();
  private readonly monitors = new Map<string, MonitorStop>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  // Worker requests go to this app's own server unless baseUrl says
  // otherwise: jobs started (or taken over) before it listens wait for it.
  private canSend = false;
  private pumpDue = false;

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly tracker: JobTracker,
    private readonly monitor: JobMonitor,
    private readonly platform: HttpPlatform,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.baseUrl) this.canSend = true;
    else
      this.platform.whenListening(() => {
        this.canSend = true;
        this.pump();
      });
    this.heartbeat = setInterval(
      () => void this.beat(),
      heartbeatIntervalMs(this.options.errorTimeout),
    );
    this.heartbeat.unref();
  }

  /** Jobs whose monitor runs in this instance now. */
  get running(): number {
    return this.monitors.size;
  }

  /** Jobs waiting in this instance: due and queued, or delayed. */
  get waiting(): number {
    return this.ready.length + this.delayed.size;
  }

  /** Takes a job to run here. A closed queue ends or releases it as a shutdown would. */
  admit(job: QueuedJob): void {
    if (this.closed) {
      void this.letGo([job]);
      return;
    }
    const wait = job.dueAt - Date.now();
    if (wait > 0) {
      // Node fires a longer timer at once (with a warning): one that long
      // wakes to be armed again for what is left.
      const timer = outsideRequests(() =>
        setTimeout(
          () => {
            this.delayed.delete(job.id);
            this.admit(job);
          },
          Math.min(wait, LONGEST_TIMER_MS),
        ),
      );
      timer.unref();
      this.delayed.set(job.id, { job, timer });
      return;
    }
    this.enqueue(job);
  }

  /**
   * Admits the job of a monitor request that another instance sent, with
   * the credentials it forwarded. Never throws.
   */
  admitFromMonitorRequest(id: string, headers: IncomingHttpHeaders): void {
    const forwarded = pickForwardedHeaders(
      headers,
      this.options.forwardHeaders,
      (name) => this.logger.warn(messages.droppedHeaderMessage(id, name)),
    );
    this.tracker.find(id).then(
      (job) => job && this.admitStored(job, forwarded),
      (error: unknown) =>
        this.logger.error(messages.monitorCrashedMessage(id, error)),
    );
  }

  /** Admits a stored job, e.g. after a monitor request or a take-over. */
  admitStored(job: JobRecord, forwarded: MonitoredJob['forwarded']): void {
    if (!isWaitingStatus(job.status)) return;
    this.admit({
      id: job.id,
      request: JSON.parse(job.request) as NormalizedJobRequest,
      forwarded,
      dueAt: job.startTime,
      anonymous: job.anonymous,
    });
  }

  /** Drops a job that waits here (it was cancelled); true when it did. */
  forget(id: string): boolean {
    const delayed = this.delayed.get(id);
    if (delayed) {
      clearTimeout(delayed.timer);
      this.delayed.delete(id);
      return true;
    }
    const index = this.ready.findIndex((job) => job.id === id);
    if (index !== -1) this.ready.splice(index, 1);
    return index !== -1;
  }

  /**
   * Stops dispatching and lets go of every waiting job: anonymous ones stay
   * Started for another instance, the others fail, since their credentials
   * exist only here.
   */
  async close(bound: ShutdownWriteBound): Promise<QueueCloseResult> {
    this.closed = true;
    clearInterval(this.heartbeat);
    const waiting = [
      ...this.ready.splice(0),
      ...[...this.delayed.values()].map(({ job, timer }) => {
        clearTimeout(timer);
        return job;
      }),
    ];
    this.delayed.clear();
    return this.letGo(waiting, bound);
  }

  /** Stops the monitors still running, leaving their jobs to their handlers; returns their job ids. */
  abandonMonitors(): string[] {
    for (const stop of this.monitors.values()) stop.stop();
    return [...this.monitors.keys()];
  }

  private enqueue(job: QueuedJob): void {
    this.ready.push(job);
    if (this.pumpDue) return;
    // Sent once the caller's promises have settled: a burst of start() calls
    // in one turn gets every id back before the first jobs' requests are made
    // (making them costs more than recording a row), and a lone job waits
    // only for what its caller does in the same tick. Outside the caller's
    // request: the monitors this starts, and those that each one's end
    // starts in turn, belong to no request.
    this.pumpDue = true;
    outsideRequests(() => process.nextTick(this.duePump));
  }

  private readonly duePump = (): void => {
    this.pumpDue = false;
    this.pump();
  };

  private pump(): void {
    while (
      !this.closed &&
      this.canSend &&
      this.ready.length > 0 &&
      this.monitors.size < this.options.maxConcurrentJobs
    ) {
      const job = this.ready.shift()!;
      const stop = new MonitorStop();
      this.monitors.set(job.id, stop);
      void this.monitor.run(job, stop).finally(() => {
        this.monitors.delete(job.id);
        this.pump();
      });
    }
  }

  private async beat(): Promise<void> {
    const ids = [...this.ready.map((job) => job.id), ...this.delayed.keys()];
    if (ids.length === 0) return;
    try {
      await this.tracker.touchWaiting(ids, Date.now());
    } catch (error) {
      this.logger.warn(messages.heartbeatFailedMessage(ids.length, error));
    }
  }

  private async letGo(
    jobs: QueuedJob[],
    bound = UNBOUNDED,
  ): Promise<QueueCloseResult> {
    const released = jobs.filter((job) => job.anonymous).map((job) => job.id);
    const credentialed = jobs.filter((job) => !job.anonymous);
    const releasedRecorded =
      released.length === 0 ||
      (await bound(
        this.tracker.touchWaiting(released, RELEASED_SIGN_OF_LIFE),
      ).then(
        () => true,
        (error: unknown) => {
          this.logger.warn(
            messages.heartbeatFailedMessage(released.length, error),
          );
          return false;
        },
      ));
    // end() resolving false (the job ended meanwhile, by a cancel) is fine.
    const failedRecorded = await Promise.all(
      credentialed.map((job) =>
        bound(
          this.tracker.end(job.id, JobEndings.notStartedBeforeShutdown('')),
        ).then(
          () => true,
          () => false,
        ),
      ),
    );
    return {
      released: released.length,
      failed: credentialed.length,
      unrecorded:
        (releasedRecorded ? 0 : released.length) +
        failedRecorded.filter((recorded) => !recorded).length,
    };
  }
}
