import { Logger } from '@nestjs/common';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import { JobStatus } from '../interfaces/job-status.enum.js';
import type { JobProgressChange } from '../storage/job-store.js';
import { appendLine, type JobTracker } from '../storage/job-tracker.js';

/**
 * The state of one job while its action runs in a worker request: the output
 * it wrote, its progress, and the writes of both to the store.
 *
 * `update()` never waits for the store: while one write is under way, later
 * changes are merged into the next one, so a slow database slows the bar,
 * never the action. The final status waits for the last write.
 */
export class JobRun {
  private output = '';
  private lastText: string | undefined;
  private progress = 0;
  private ended = false;
  private pendingChange: JobProgressChange | null = null;
  private flushing: Promise<void> | null = null;
  private warnedAboutStore = false;

  constructor(
    readonly jobId: string,
    private readonly tracker: JobTracker,
    private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT),
  ) {}

  /** Everything the action wrote so far. */
  get capturedOutput(): string {
    return this.output;
  }

  write(text: string): void {
    if (!this.ended) this.output += text;
  }

  update(progress?: number, text?: string): void {
    if (this.ended) return;
    if (progress !== undefined && Number.isFinite(progress)) {
      this.progress = Math.min(100, Math.max(0, Math.round(progress)));
    }
    if (text !== undefined) this.lastText = String(text);
    this.schedule({
      progress: this.progress,
      statusText: this.lastText ?? this.output,
    });
  }

  incrementProgress(amount: number, text?: string): void {
    this.update(this.progress + (Number.isFinite(amount) ? amount : 0), text);
  }

  /** Completes the job now with `text`, or with the output so far. */
  async finish(text?: string): Promise<void> {
    await this.end({
      status: JobStatus.Completed,
      statusText: text ?? this.finalText(),
      progress: 100,
    });
  }

  /** Ends the action at once; the worker records the failure. */
  fail(text?: string): never {
    throw new JobFailedException(text ?? '');
  }

  /** The action returned: completes the job unless it ended already. */
  async settleSuccess(): Promise<void> {
    await this.finish();
  }

  /** The action threw: fails the job with the output so far and the reason. */
  async settleFailure(error: unknown): Promise<void> {
    const reason =
      error instanceof JobFailedException
        ? error.text
        : messages.describeError(error);
    const statusText = reason
      ? appendLine(this.finalText(), reason)
      : this.finalText();
    await this.end({ status: JobStatus.Failed, statusText });
  }

  private finalText(): string {
    return this.output || this.lastText || '';
  }

  private async end(ending: Parameters<JobTracker['end']>[1]): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.pendingChange = null;
    await this.flushing;
    await this.tracker.end(this.jobId, ending);
  }

  private schedule(change: JobProgressChange): void {
    this.pendingChange = change;
    this.flushing ??= this.flush();
  }

  private async flush(): Promise<void> {
    while (this.pendingChange) {
      const change = this.pendingChange;
      this.pendingChange = null;
      try {
        // false: the job ended elsewhere (timed out); later writes are fenced.
        if (!(await this.tracker.saveProgress(this.jobId, change)))
          this.ended = true;
      } catch (error) {
        if (!this.warnedAboutStore)
          this.logger.warn(messages.storeWriteFailedMessage(this.jobId, error));
        this.warnedAboutStore = true;
      }
    }
    this.flushing = null;
  }
}
