/**
 * Life cycle of a job, with the numbers of the original BackJob so that
 * existing tables and clients keep their meaning.
 */
export enum JobStatus {
  /** Recorded, waiting for its worker to pick it up (or for its delay). */
  Started = 0,
  /** A worker request claimed it and the action is running. */
  InProgress = 1,
  /** The action ended normally. Final. */
  Completed = 2,
  /** The action threw, called `fail()`, timed out or could not be reached. Final. */
  Failed = 3,
}

/** True for the two statuses a job never leaves. */
export function isFinalStatus(status: JobStatus): boolean {
  return status === JobStatus.Completed || status === JobStatus.Failed;
}
