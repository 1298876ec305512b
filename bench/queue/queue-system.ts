/**
 * One job system under the common workload (workload.ts). Its handler runs
 * the same no-op job everywhere: `ledger.enter(seq, enqueuedAt)` on its first
 * line, four progress updates where the system has a progress API, then
 * `ledger.leave(seq)`.
 */
export interface QueueSystem {
  /** Enqueues job `seq` as a request handler would; resolves when the call returns. */
  enqueue(seq: number, enqueuedAt: number): Promise<string>;
  /** Reads one job as a status page would. */
  readStatus(id: string): Promise<unknown>;
  /** How many jobs the system has recorded as completed, and how many otherwise ended. */
  endedCounts(): Promise<{ completed: number; other: number }>;
  /** Stops it and removes everything it created (tables, schema, keys, files). */
  close(): Promise<void>;
}
