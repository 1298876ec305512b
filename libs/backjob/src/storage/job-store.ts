import type {
  JobEnding,
  JobStatus,
  RetentionRule,
} from '../lifecycle/job-lifecycle.js';

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
  /**
   * True when the job forwards no credentials: any instance can run it, so
   * a waiting one whose instance died is taken over rather than failed.
   */
  anonymous: boolean;
  /** The job's result as JSON text, once it ended with one; else `null`. */
  result: string | null;
  /** The id of the job this one runs again (`retry()`), else `null`. */
  retryOf: string | null;
}

/** Where a page of `list()` starts: after this job, newest first. */
export interface JobListPosition {
  startTime: number;
  id: string;
}

/** What `JobStore.list()` selects. */
export interface JobListQuery {
  /** Only this scope; every scope when absent. */
  scope?: string;
  /** Only these statuses; every status when absent. */
  statuses?: readonly JobStatus[];
  /** Jobs after this one in the order (newest first). */
  after?: JobListPosition;
  limit: number;
}

/** How many jobs have each status (absent statuses have none). */
export type JobStatusCounts = Partial<Record<JobStatus, number>>;

/** What changes while a job runs. */
export interface JobProgressChange {
  progress?: number;
  statusText?: string;
}

/**
 * Most ended jobs one cleanup statement (or script) deletes: a large
 * backlog goes in many short ones, each its own transaction, so that the
 * app's own writes never wait long behind the cleanup.
 */
export const CLEANUP_BATCH = 500;

/**
 * Where jobs are kept. Every transition is conditional on the current
 * status, with the allowed sources taken from the lifecycle rules
 * (`lifecycle/job-lifecycle.ts`), so that it happens once even when
 * instances race, and so that a job that ended cannot be changed by a late
 * write of its handler.
 */
export abstract class JobStore {
  /** Stops what the store runs on its own (timers); Nest calls it at shutdown. */
  onApplicationShutdown(): void {}

  /**
   * Records a new job. When its `mergeKey` is already held by a pending job,
   * nothing is written and that job's id is returned instead. A store that
   * had to wait for its connection first moves `job`'s times by that wait,
   * on `job` itself, so that they are those of the write.
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

  /** Pending → the ending's final status; false when it had ended already. */
  abstract end(id: string, ending: JobEnding, now: number): Promise<boolean>;

  /**
   * Sets the `updatedTime` of those of `ids` that still wait (Started) to
   * `time`: the heartbeat of an instance's waiting jobs, and with
   * `RELEASED_SIGN_OF_LIFE` their release at shutdown.
   */
  abstract touchWaiting(ids: readonly string[], time: number): Promise<void>;

  /**
   * Takes a stale waiting job over for this instance: when it is still
   * Started and its last sign of life is before `cutoff`, sets its
   * `updatedTime` to `now` and returns true. Of instances that race, one wins.
   */
  abstract takeOver(id: string, cutoff: number, now: number): Promise<boolean>;

  /** Ids of pending jobs whose last sign of life is before `cutoff`. */
  abstract findStale(cutoff: number, limit: number): Promise<string[]>;

  /** Deletes the ended jobs that a rule covers; returns how many. */
  abstract deleteEnded(rules: readonly RetentionRule[]): Promise<number>;

  /**
   * Up to `limit` jobs, newest first: by start time, then by id descending
   * so that the order is total and a page boundary never skips or repeats.
   */
  abstract list(query: JobListQuery): Promise<JobRecord[]>;

  /** How many jobs have each status, in `scope` or in all. */
  abstract counts(scope?: string): Promise<JobStatusCounts>;
}
