import { performance } from 'node:perf_hooks';

/**
 * What the handlers of one run did, whatever the system: when each job
 * reached its handler's first line, how often each job ran, and who waits
 * for a job to leave its handler. Every job of a run is numbered (`seq`), so
 * that "each job ran exactly once" is checked on numbers the bench chose,
 * not on ids the system reports.
 */
export class JobLedger {
  /** Milliseconds from the enqueue call to the handler's first line, in order of arrival. */
  readonly pickups: number[] = [];
  private readonly runs = new Map<number, number>();
  private readonly waiting = new Map<number, () => void>();

  /** Resolves when job `seq` leaves its handler. Call before enqueueing it. */
  whenDone(seq: number): Promise<void> {
    return new Promise((resolve) => this.waiting.set(seq, resolve));
  }

  /** The handler's first line. `enqueuedAt` is `performance.now()` at the enqueue call. */
  enter(seq: number, enqueuedAt: number): void {
    this.pickups.push(performance.now() - enqueuedAt);
    this.runs.set(seq, (this.runs.get(seq) ?? 0) + 1);
  }

  /** The handler's last line. */
  leave(seq: number): void {
    const resolve = this.waiting.get(seq);
    this.waiting.delete(seq);
    resolve?.();
  }

  /** How many jobs have entered a handler at least once. */
  get distinctRuns(): number {
    return this.runs.size;
  }

  /** Throws unless jobs 0 … count-1, and no others, each ran exactly once. */
  assertExactlyOnce(count: number, what: string): void {
    const problems: string[] = [];
    for (let seq = 0; seq < count; seq++) {
      const runs = this.runs.get(seq) ?? 0;
      if (runs !== 1) problems.push(`job ${seq} ran ${runs} times`);
    }
    for (const seq of this.runs.keys())
      if (seq < 0 || seq >= count) problems.push(`unexpected job ${seq} ran`);
    if (problems.length > 0)
      throw new Error(
        `${what}: not every job ran exactly once (${problems.length} problems): ${problems.slice(0, 10).join('; ')}`,
      );
  }
}
