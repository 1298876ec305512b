import { Logger } from '@nestjs/common';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { JobAbortedError } from '../errors/job-aborted.error.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import { JobEndings, type JobEnding } from '../lifecycle/job-lifecycle.js';
import type { JobProgressChange } from '../storage/job-store.js';
import type { JobTracker, LiveProgress } from '../storage/job-tracker.js';
import { CappedOutput } from '../lifecycle/output-cap.js';
import { resultToJson, valueToText } from './output-capture.js';
import { answerEnding } from './route-answer.js';
import { StoreOutage } from '../storage/store-outage.js';
import type { ProgressTicker, TickedRun } from './progress-ticker.js';

// One for every run: a Logger per job is an allocation per job, and Nest's
// Logger reaches the app's logger at each call anyway.
const RUN_LOGGER = new Logger(BACKJOB_LOGGER_CONTEXT);

/** The least time between two progress writes of one job: at most ten a second. */
export const PROGRESS_WRITE_INTERVAL_MS = 100;

/**
 * The state of one job while its action runs in a worker request: the output
 * it wrote (capped at `maxOutputBytes`), its progress, the writes of both to the store, and the signal
 * that tells the action to stop.
 *
 * `update()` never waits for the store: changes are merged into at most one
 * write per `PROGRESS_WRITE_INTERVAL_MS`, and into the next one while a
 * write is under way, so a slow database slows the bar, never the action.
 * The instance's `ProgressTicker` makes the writes. The final status waits
 * for the last write.
 */
export class JobRun implements TickedRun {
  private readonly output: CappedOutput;
  private lastText: string | undefined;
  private progress = 0;
  private ended = false;
  /** Progress or text changed since the last write. */
  private dirty = false;
  /** In the ticker's set: joined once, not at every call. */
  private ticking = false;
  /** True once `update()` gave a progress: the ending keeps it. */
  private reportedProgress = false;
  /** `update()` was given a progress that is no number, and it was logged. */
  private refusedProgress = false;
  private flushing: Promise<void> | null = null;
  /** This run's ending is being written (ended, and not by someone else). */
  private writingEnd = false;
  /**
   * The claim that made this run wrote the row: the first progress waits
   * out the interval like any other, so that a job that ends within it
   * writes none (its ending stores the last one).
   */
  private lastWriteAt = Date.now();
  private reportedAt = 0;
  private readonly storeOutage = new StoreOutage();
  /** The result as JSON: given to `setResult()`, or else what the action returned. */
  private resultJson: string | undefined;
  private resultIsExplicit = false;
  // Made when the action first asks for its signal: most never do, and an
  // AbortController per job shows in the CPU profile.
  private aborter: AbortController | undefined;
  private abortReason: JobAbortedError | undefined;
  private settle!: () => void;
  /**
   * Set by `callBackgroundHandler`: the handler's own value or exception
   * settles the job. Unset (an unmarked route, a guard's refusal), the
   * route's answer does.
   */
  settlesInHandler = false;
  /** Called once the worker request stored the ending, while its answer can still say so. */
  onSettled: () => void = () => undefined;
  /** Resolves once the action has returned or thrown and its ending was written (or fenced off). */
  readonly done = new Promise<void>((resolve) => (this.settle = resolve));

  constructor(
    readonly jobId: string,
    private readonly tracker: JobTracker,
    private readonly ticker: ProgressTicker,
    /** Called when a progress write found the job ended by someone else. */
    private readonly onFenced: () => void = () => undefined,
    private readonly logger = RUN_LOGGER,
  ) {
    this.output = new CappedOutput(tracker.maxOutputBytes);
  }

  /** Aborts when the job was cancelled, ended elsewhere or interrupted by a shutdown. */
  get signal(): AbortSignal {
    if (!this.aborter) {
      this.aborter = new AbortController();
      if (this.abortReason) this.aborter.abort(this.abortReason);
    }
    return this.aborter.signal;
  }

  /** Why the job was ended without this run, once it was (what the signal aborts with). */
  get abortedWith(): JobAbortedError | undefined {
    return this.abortReason;
  }

  /** True once the job's ending was decided, here or elsewhere. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Everything the action wrote so far. */
  get capturedOutput(): string {
    return this.output.text();
  }

  write(text: string): void {
    // From JavaScript, or past a cast: a number or an object reads as it
    // would in a log, rather than failing the handler from inside BackJob.
    if (!this.ended)
      this.output.append(
        typeof text === 'string' ? text : messages.describeValue(text),
      );
  }

  update(progress?: number, text?: string): void {
    if (this.ended) return;
    // Infinity clamps to 100 as 1,000 does; NaN is no progress.
    if (typeof progress === 'number' && !Number.isNaN(progress)) {
      this.progress = Math.min(100, Math.max(0, Math.round(progress)));
      this.reportedProgress = true;
    } else if (progress !== undefined) this.refuseProgress(progress);
    if (text !== undefined) this.lastText = String(text);
    this.dirty = true;
    if (!this.ticking) {
      this.ticking = true;
      this.ticker.add(this);
    }
    this.reportedAt = Date.now();
    // Only while someone here watches: the call stays a few microseconds.
    if (this.tracker.liveProgress.observed)
      this.tracker.reportLive(this.reported());
  }

  /**
   * The progress reported and not stored yet, for watchers here. A write
   * under way counts as not stored, the ending's too: until it lands (in
   * the cache as well), a read shows the progress stored before.
   */
  unwrittenProgress(): LiveProgress | undefined {
    if (this.reportedAt === 0) return undefined;
    const underWay = this.ended
      ? this.writingEnd
      : this.dirty || this.flushing !== null;
    return underWay ? this.reported() : undefined;
  }

  private reported(): LiveProgress {
    const text = this.lastText;
    return {
      id: this.jobId,
      progress: this.progress,
      // Given text as of this report; the output is read when shown.
      statusText: () => text ?? this.output.text(),
      at: this.reportedAt,
    };
  }

  // Once per run: a loop that reports '50' would otherwise log every call.
  private refuseProgress(progress: unknown): void {
    if (this.refusedProgress) return;
    this.refusedProgress = true;
    this.logger.warn(
      messages.invalidProgressMessage(this.jobId, progress, this.progress),
    );
  }

  incrementProgress(amount: number, text?: string): void {
    this.update(this.progress + (Number.isFinite(amount) ? amount : 0), text);
  }

  /** Completes the job now with `text`, or with the output so far. */
  async finish(text?: string): Promise<void> {
    await this.end(
      JobEndings.completed(text ?? this.finalText(), this.resultJson),
    );
  }

  /**
   * Sets the job's result, stored with its ending in place of what the
   * action returns. Throws at once for a value that JSON cannot encode or
   * that is larger than `maxOutputBytes`, so the handler learns it where
   * it made the value.
   */
  setResult(value: unknown): void {
    const json = resultToJson(value);
    if (
      json !== undefined &&
      Buffer.byteLength(json) > this.tracker.maxOutputBytes
    )
      throw new RangeError(
        messages.unstorableResultMessage(
          Buffer.byteLength(json),
          this.tracker.maxOutputBytes,
        ),
      );
    this.resultJson = json;
    this.resultIsExplicit = true;
  }

  /** Ends the action at once; the worker records the failure. */
  fail(text?: string): never {
    throw new JobFailedException(text ?? '');
  }

  /**
   * The action returned `value`: completes the job with it, unless it ended
   * already; fails it when the value cannot be turned into text.
   */
  settleResult(value: unknown): Promise<void> {
    let text: string;
    try {
      text = valueToText(value);
    } catch (error) {
      return this.settleFailure(error);
    }
    this.write(text);
    if (!this.resultIsExplicit) this.keepReturnedResult(value);
    return this.settleSuccess();
  }

  /** What the action returned, as its result, when it fits the cap. */
  private keepReturnedResult(value: unknown): void {
    const json = resultToJson(value);
    if (json === undefined) return;
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.tracker.maxOutputBytes) this.resultJson = json;
    else
      this.write(
        `\n${messages.unstorableResultMessage(bytes, this.tracker.maxOutputBytes)}`,
      );
  }

  /** The action returned: completes the job unless it ended already. */
  async settleSuccess(): Promise<void> {
    try {
      await this.finish();
      this.onSettled();
    } finally {
      this.settle();
    }
  }

  /** The action threw: fails the job with the output so far and the reason. */
  async settleFailure(error: unknown): Promise<void> {
    const reason =
      error instanceof JobFailedException
        ? error.text
        : messages.describeError(error);
    try {
      await this.end(
        JobEndings.failed(this.finalText(), reason, this.resultJson),
      );
      this.onSettled();
    } finally {
      this.settle();
    }
  }

  /**
   * The route answered `status` without its handler settling the job: the
   * answer (all the route sent, ending with `lastChunk`) ends it, by the
   * rule the monitor applies to an answer (`answerEnding`). Resolves with
   * the ending when this one was stored, null when the job had ended.
   */
  async settleAnswer(
    status: number,
    lastChunk: string,
    url: string,
  ): Promise<JobEnding | null> {
    try {
      const progressText = this.lastText ?? '';
      this.write(lastChunk);
      const ending = answerEnding(
        status,
        this.output.text(),
        url,
      )(progressText);
      const withResult =
        this.resultJson === undefined
          ? ending
          : { result: this.resultJson, ...ending };
      const stored = await this.end(withResult);
      this.onSettled();
      return stored ? withResult : null;
    } finally {
      this.settle();
    }
  }

  /**
   * The job ended without this run (cancelled, timed out, interrupted):
   * later writes are fenced off and the action's signal aborts.
   */
  abort(status: JobEnding['status'], reason: string): void {
    this.ended = true;
    this.stopWriting();
    if (this.abortReason) return;
    this.abortReason = new JobAbortedError(this.jobId, status, reason);
    this.aborter?.abort(this.abortReason);
  }

  /** The output with which the job ends, as far as it got. */
  finalText(): string {
    return this.output.text() || this.lastText || '';
  }

  /** Writes the ending, with the last progress reported when it sets none. True when it was stored. */
  private async end(ending: JobEnding): Promise<boolean> {
    if (this.ended) return false;
    this.ended = true;
    this.writingEnd = true;
    this.stopWriting();
    try {
      await this.flushing;
      const progress =
        ending.progress ?? (this.reportedProgress ? this.progress : undefined);
      return await this.tracker.endOwnRun(
        this.jobId,
        { ...ending, progress },
        this,
      );
    } finally {
      this.writingEnd = false;
    }
  }

  /**
   * Writes the latest progress once `PROGRESS_WRITE_INTERVAL_MS` has passed
   * since the last write: a handler that reports a thousand times a second
   * costs the store ten writes, and the last value is always written (by
   * the next tick after the interval, or with the ending). The text is read
   * at write time, not per call.
   */
  writeIfDue(now: number): boolean {
    const unwritten = this.dirty && !this.ended;
    if (
      unwritten &&
      (this.flushing || now < this.lastWriteAt + PROGRESS_WRITE_INTERVAL_MS)
    )
      return true;
    this.ticking = false;
    if (unwritten) this.flushing = this.flush();
    return false;
  }

  private stopWriting(): void {
    this.dirty = false;
  }

  private async flush(): Promise<void> {
    this.dirty = false;
    this.lastWriteAt = Date.now();
    const change: JobProgressChange = {
      progress: this.progress,
      statusText: this.lastText ?? this.output.text(),
    };
    try {
      if (!(await this.tracker.saveProgress(this.jobId, change))) {
        this.ended = true;
        this.onFenced();
      }
      this.storeOutage.ended();
    } catch (error) {
      this.storeOutage.failed(() =>
        this.logger.warn(messages.storeWriteFailedMessage(this.jobId, error)),
      );
    }
    this.flushing = null;
  }
}
