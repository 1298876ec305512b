import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { InstanceState } from './instance-state.js';
import { CallDeadline } from '../storage/call-deadline.js';
import { JobQueue, type ShutdownWriteBound } from './job-queue.js';
import { CacheLocator } from '../storage/cache-locator.js';
import { RunningJobs } from './running-jobs.js';
import { SelfHttpClient } from './self-http.client.js';

/**
 * The graceful shutdown of a deploy (`enableShutdownHooks()` and SIGTERM, or
 * `app.close()`). Nest calls it before the HTTP server closes, so that the
 * worker requests still being served can finish:
 * 1. `start()` is refused from now on;
 * 2. waiting jobs are let go: anonymous ones stay Started for another
 *    instance, the others fail, since their credentials exist only here;
 * 3. running handlers get `shutdownGracePeriod` to finish; then their jobs
 *    fail "interrupted by shutdown", their signals abort and their requests
 *    are dropped, so that nothing holds the server open;
 * 4. one log line says what happened, and the keep-alive agents close.
 * Its writes wait for the store at most `requestTimeout` each.
 */
@Injectable()
export class JobDrain implements OnModuleDestroy {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly instance: InstanceState,
    private readonly queue: JobQueue,
    private readonly running: RunningJobs,
    private readonly client: SelfHttpClient,
    private readonly cache: CacheLocator,
  ) {}

  // As BackJob's module is destroyed, the first step of Nest's shutdown:
  // the running handlers still have what the modules destroyed after it
  // hold (those imported before it). The cache's module may come first and
  // close its client: what the drain reopens to write is closed again.
  async onModuleDestroy(): Promise<void> {
    if (!this.instance.beginShutdown()) return;
    await this.cache.closingWhatItReopens(() => this.letEveryJobGo());
  }

  private async letEveryJobGo(): Promise<void> {
    const bound = this.shutdownWriteBound();
    // The waiting jobs' writes go on during the grace period.
    const letGo = this.queue.close(bound);
    const { drained, interrupted, jobIds, unrecorded } =
      await this.running.drain(this.options.shutdownGracePeriod * 1000, bound);
    const waiting = await letGo;
    const elsewhere = this.queue
      .abandonMonitors()
      .filter((id) => !jobIds.has(id)).length;
    this.client.close();
    if (unrecorded + waiting.unrecorded > 0)
      this.logger.error(
        messages.shutdownNotRecordedMessage(
          unrecorded + waiting.unrecorded,
          this.options.requestTimeout,
        ),
      );
    if (
      drained + interrupted + elsewhere + waiting.released + waiting.failed >
      0
    )
      this.logger.log(
        messages.drainedMessage({
          drained,
          interrupted,
          graceSeconds: this.options.shutdownGracePeriod,
          leftToOthers: waiting.released + elsewhere,
          failedWaiting: waiting.failed,
        }),
      );
  }

  /**
   * A store that hangs must not hang a deploy: each write of the shutdown
   * (a waiting job let go, a running one interrupted) is waited for at most
   * `requestTimeout`. What it could not write, the lifecycle still ends:
   * without a sign of life for `errorTimeout`, other instances' sweeps take
   * the job over or fail it.
   */
  private shutdownWriteBound(): ShutdownWriteBound {
    const seconds = this.options.requestTimeout;
    const deadline = new CallDeadline(
      seconds * 1000,
      () => new Error(messages.noAnswerMessage(seconds)),
    );
    return (write) => deadline.bound(write);
  }
}
