import { outsideRequests } from '../backjob.context.js';

/** How often the ticker looks for progress due to be written. */
export const PROGRESS_TICK_MS = 20;

// Ticks in a row that find no run before the timer stops: about one write
// interval. A run that keeps calling update() joins again within it, so the
// timer goes on instead of being armed again inside update() after every
// write: ten calls a second, at 1,000 calls a second the 1 % that made the
// calls' p99.
const QUIET_TICKS_BEFORE_PAUSE = 5;

/** What the ticker asks of a run with progress to write. */
export interface TickedRun {
  /**
   * Writes the run's progress if its interval has passed. True while the
   * run still has progress that waits for a later tick.
   */
  writeIfDue(now: number): boolean;
}

/**
 * One timer for the progress writes of every run in this instance, running
 * while some run has progress to write. A run joins once per write
 * (`update()` sets a flag after that), so the call does no more than note
 * the value: it arms no timer of its own (only this one, after a quiet
 * spell stopped it), and it never writes to the store itself (a
 * call made after a quiet interval used to run SQLite's UPDATE before it
 * returned). A write is at most one tick late. Runs leave once written or
 * ended, so the timer stops by itself a few quiet ticks later, in a
 * shutdown too.
 */
export class ProgressTicker {
  private readonly waiting = new Set<TickedRun>();
  private timer: NodeJS.Timeout | undefined;
  private quietTicks = 0;

  /** `run` has progress to write. */
  add(run: TickedRun): void {
    this.waiting.add(run);
    this.timer ??= this.start();
  }

  private start(): NodeJS.Timeout {
    // The first update() of a run arms it, inside that run's request.
    const timer = outsideRequests(() =>
      setInterval(this.tick, PROGRESS_TICK_MS),
    );
    // The worker request of a running job keeps the process alive by itself.
    timer.unref();
    return timer;
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.quietTicks = 0;
  }

  private readonly tick = (): void => {
    if (this.waiting.size === 0) {
      if (++this.quietTicks >= QUIET_TICKS_BEFORE_PAUSE) this.pause();
      return;
    }
    this.quietTicks = 0;
    const now = Date.now();
    for (const run of this.waiting)
      if (!run.writeIfDue(now)) this.waiting.delete(run);
  };
}
