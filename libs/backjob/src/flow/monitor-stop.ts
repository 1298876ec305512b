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

  /**
   * Calls `listener` once, when the monitor stops: at once if it has.
   * Returns what takes it back, for a listener whose work ends before the
   * monitor does: what it holds is then let go at once.
   */
  onStop(listener: () => void): () => void {
    if (!this.listeners) {
      listener();
      return () => undefined;
    }
    this.listeners.push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index !== -1) this.listeners!.splice(index, 1);
    };
  }
}
