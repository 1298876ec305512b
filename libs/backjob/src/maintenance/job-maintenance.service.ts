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
import { retentionRules } from '../lifecycle/job-lifecycle.js';
import { JobTracker } from '../storage/job-tracker.js';

const SWEEP_NAME = 'backjob:timeout-sweep';
const CLEANUP_NAME = 'backjob:backlog-cleanup';

/**
 * Keeps the table honest without anyone reading it: a sweep fails jobs that
 * timed out (also those of an instance that died), and a cron deletes old
 * finished jobs. Both run on the app's own `ScheduleModule`.
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
    @Optional() private readonly scheduler?: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.scheduler)
      throw new BackJobConfigurationError(messages.missingSchedulerMessage());
    const sweep = setInterval(
      () => void this.sweep(),
      this.options.sweepInterval * 1000,
    );
    sweep.unref();
    this.scheduler.addInterval(SWEEP_NAME, sweep);
    const cleanup = CronJob.from({
      cronTime: this.options.cleanupCron,
      onTick: () => void this.cleanup(),
      start: true,
    });
    this.scheduler.addCronJob(CLEANUP_NAME, cleanup as never);
  }

  beforeApplicationShutdown(): void {
    if (this.scheduler?.doesExist('interval', SWEEP_NAME))
      this.scheduler.deleteInterval(SWEEP_NAME);
    if (this.scheduler?.doesExist('cron', CLEANUP_NAME))
      this.scheduler.deleteCronJob(CLEANUP_NAME);
  }

  /** Fails the jobs that timed out; returns how many. Never throws. */
  async sweep(): Promise<number> {
    try {
      return await this.tracker.failStaleJobs();
    } catch (error) {
      this.logger.warn(
        messages.sweepFailedMessage(error, this.options.sweepInterval),
      );
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
