import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { InstanceState } from './instance-state.js';
import { JobQueue } from './job-queue.js';
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
 */
@Injectable()
export class JobDrain implements BeforeApplicationShutdown {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  constructor(
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
    private readonly instance: InstanceState,
    private readonly queue: JobQueue,
    private readonly running: RunningJobs,
    private readonly client: SelfHttpClient,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.instance.beginShutdown()) return;
    const waiting = await this.queue.close();
    const { drained, interrupted, jobIds } = await this.running.drain(
      this.options.shutdownGracePeriod * 1000,
    );
    const elsewhere = this.queue
      .abandonMonitors()
      .filter((id) => !jobIds.has(id)).length;
    this.client.close();
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
}
