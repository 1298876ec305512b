import { JobStatus } from '../interfaces/job-status.enum.js';

/** The statuses a job can still leave. */
export const PENDING_STATUSES: readonly JobStatus[] = [
  JobStatus.Started,
  JobStatus.InProgress,
];

/** A job as the stores keep it; times are epoch milliseconds (UTC). */
export interface JobRecord {
  id: string;
  scope: string;
  progress: number;
  status: JobStatus;
  startTime: number;
  updatedTime: number;
  endTime: number | null;
  /** The normalised request to run, as JSON, without credentials. */
  request: string;
  statusText: string;
  /** Set while the job is pending and identical requests merge into it. */
  mergeKey: string | null;
}

/** What changes while a job runs. */
export interface JobProgressChange {
  progress?: number;
  statusText?: string;
}

/** The final state of a job. */
export interface JobEnding {
  status: JobStatus.Completed | JobStatus.Failed;
  statusText: string;
  progress?: number;
}

/** The fields an ending writes, the same in every store. */
export function endingChange(
  ending: JobEnding,
  now: number,
): Partial<JobRecord> {
  return { ...ending, endTime: now, updatedTime: now, mergeKey: null };
}

/**
 * Where jobs are kept. Every transition is conditional on the current status,
 * so that it happens once even when instances race, and so that a job that
 * ended cannot be changed by a late write of its handler.
 */
export abstract class JobStore {
  /**
   * Records a new job. When its `mergeKey` is already held by a pending job,
   * nothing is written and that job's id is returned instead.
   */
  abstract insert(job: JobRecord): Promise<{ id: string; merged: boolean }>;

  abstract find(id: string): Promise<JobRecord | null>;

  /** Started → InProgress; false when it was not Started (already claimed or ended). */
  abstract claim(id: string, now: number): Promise<boolean>;

  /** Stores progress and text of a pending job; false when it has ended. */
  abstract saveProgress(
    id: string,
    change: JobProgressChange,
    now: number,
  ): Promise<boolean>;

  /** Pending → Completed or Failed; false when it had ended already. */
  abstract end(id: string, ending: JobEnding, now: number): Promise<boolean>;

  /** Ids of pending jobs with no update and no start since `cutoff`. */
  abstract findStale(cutoff: number, limit: number): Promise<string[]>;

  /**
   * Deletes completed jobs that ended before `completedBefore` and every ended
   * job before `allBefore` (either may be `null`: kept). Returns how many.
   */
  abstract deleteEnded(
    completedBefore: number | null,
    allBefore: number | null,
  ): Promise<number>;
}
