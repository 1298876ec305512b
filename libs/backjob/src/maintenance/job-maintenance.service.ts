import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { BackJobConfigurationError } from '../errors/backjob-configuration.error.js';
import { JobQueue } from '../flow/job-queue.js';
import {
  retentionRules,
  staleVerdict,
  sweepIntervalSeconds,
} from '../lifecycle/job-lifecycle.js';
import { JobTracker } from '../storage/job-tracker.js';

const SWEEP_NAME = 'backjob:timeout-sweep';
const CLEANUP_NAME = 'backjob:backlog-cleanup';
// Stale jobs handled per sweep, so that one sweep never holds the store long.
const SWEEP_BATCH = 500;

/**
 * Keeps the table honest without anyone reading it: a sweep (at boot, then
 * every `sweepInterval`) ends the jobs that went stale — those of an
 * instance that died, too — or takes over the anonymous ones that never
 * started, and a cron deletes old finished jobs. Both run on the app's own
 * `ScheduleModule`.
 */
@Injectable()
export class JobMaintenanceService
  implements OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly tracker: JobTracker,
    private readonly queue: JobQueue,
    @Optional() private readonly scheduler?: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.scheduler)
      throw new BackJobConfigurationError(messages.missingSchedulerMessage());
    const sweep = setInterval(
      () => void this.sweep(),
      this.sweepSeconds * 1000,
    );
    sweep.unref();
    this.scheduler.addInterval(SWEEP_NAME, sweep);
    const cleanup = CronJob.from({
      cronTime: this.options.cleanupCron,
      onTick: () => void this.cleanup(),
      start: true,
    });
    this.scheduler.addCronJob(CLEANUP_NAME, cleanup as never);
    // The jobs of an instance that died while this one was down.
    void this.sweep();
  }

  private get sweepSeconds(): number {
    return sweepIntervalSeconds(
      this.options.errorTimeout,
      this.options.sweepInterval,
    );
  }

  beforeApplicationShutdown(): void {
    if (this.scheduler?.doesExist('interval', SWEEP_NAME))
      this.scheduler.deleteInterval(SWEEP_NAME);
    if (this.scheduler?.doesExist('cron', CLEANUP_NAME))
      this.scheduler.deleteCronJob(CLEANUP_NAME);
  }

  /**
   * Ends the stale jobs, or takes over those it may run here; returns how
   * many it ended or took. Never throws.
   */
  async sweep(): Promise<number> {
    try {
      let handled = 0;
      for (const job of await this.tracker.findStale(SWEEP_BATCH)) {
        if (staleVerdict(job).action === 'take-over') {
          if (!(await this.tracker.takeOver(job))) continue;
          this.logger.log(messages.takenOverMessage(job.id));
          this.queue.admitStored(job, {});
          handled++;
        } else if (await this.tracker.endIfStale(job)) handled++;
      }
      return handled;
    } catch (error) {
      this.logger.warn(messages.sweepFailedMessage(error, this.sweepSeconds));
      return 0;
    }
  }

  /**
   * Deletes completed jobs older than `backlogDays` and every finished job
   * older than `allBacklogDays`; running jobs are never deleted. Returns how
   * many were deleted. Never throws.
   */
  async cleanup(): Promise<number> {
    try {
      return await this.tracker.deleteEnded(
        retentionRules(
          Date.now(),
          this.options.backlogDays,
          this.options.allBacklogDays,
        ),
      );
    } catch (error) {
      this.logger.warn(messages.cleanupFailedMessage(error));
      return 0;
    }
  }
}
