/**
 * Stops a job's monitor without ending the job: a shutdown lets go of it,
 * or its watchdog saw the job end. Not an `AbortController`: one of those
 * per job, and the listeners Node adds for a request's `signal`, showed in
 * the CPU profile of a job.
 */
export class MonitorStop {
  private listeners: (() => void)[] | null = [];

  get stopped(): boolean {
    return this.listeners === null;
  }

  stop(): void {
    const listeners = this.listeners;
    if (!listeners) return;
    this.listeners = null;
    for (const listener of listeners) listener();
  }

  /** Calls `listener` once, when the monitor stops: at once if it has. */
  onStop(listener: () => void): void {
    if (this.listeners) this.listeners.push(listener);
    else listener();
  }
}
