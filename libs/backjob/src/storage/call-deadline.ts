import { outsideRequests } from '../backjob.context.js';

/**
 * Bounds how long callers wait for calls to the store: past `ms`, a caller's
 * promise rejects with `error()`, while the call itself goes on (a driver
 * cannot take a query back, and its late answer goes nowhere). One timer for
 * every call under way: a timer per call costs more than a read.
 */
export class CallDeadline {
  private readonly underWay = new Set<Waiting>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly error: () => Error,
  ) {}

  /** The call's outcome, or `error()` if `ms` pass first. */
  bound<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = this.watch(reject);
      call.then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  /**
   * Calls `expire` with `error()` once `ms` have passed, unless the function
   * it returns is called first (the call is over).
   */
  watch(expire: (error: Error) => void): () => void {
    const waiting: Waiting = { dueAt: Date.now() + this.ms, expire };
    this.underWay.add(waiting);
    this.timer ??= this.arm(this.ms);
    return () => this.underWay.delete(waiting);
  }

  private arm(inMs: number): NodeJS.Timeout {
    // Armed by whichever call comes first, often inside a request, and
    // armed again by itself while calls go on.
    const timer = outsideRequests(() => setTimeout(this.expire, inMs));
    // A caller still waiting keeps the process alive by itself.
    timer.unref();
    return timer;
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    let nextDue = Infinity;
    for (const waiting of this.underWay) {
      if (waiting.dueAt > now) nextDue = Math.min(nextDue, waiting.dueAt);
      else {
        this.underWay.delete(waiting);
        waiting.expire(this.error());
      }
    }
    if (nextDue !== Infinity) this.timer = this.arm(nextDue - now);
  };
}

interface Waiting {
  dueAt: number;
  expire: (error: Error) => void;
}
