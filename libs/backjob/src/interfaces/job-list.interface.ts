import type { JobStatus } from '../lifecycle/job-lifecycle.js';
import type { JobStatusSnapshot } from './job-status.interface.js';

/** What `list()` selects. */
export interface JobListOptions {
  /**
   * Only the jobs started with this `scope`: how an app shows a user their
   * own jobs. Default: every scope.
   */
  scope?: string;
  /** Only jobs with this status, or one of these. Default: every status. */
  status?: JobStatus | readonly JobStatus[];
  /** Jobs per page, 1 to 100. Default: 20. */
  limit?: number;
  /** The `cursor` of the previous page, for the next one. Default: the first page. */
  cursor?: string;
}

/** A page of `list()`: newest first (by start time). */
export interface JobList {
  jobs: JobStatusSnapshot[];
  /** Present while more jobs remain: pass it to `list()` for the next page. */
  cursor?: string;
}

/** How many jobs have each status: `counts[JobStatus.Failed]`. */
export type JobCounts = Record<JobStatus, number>;

/** Options of `retry()`. */
export interface RetryJobOptions {
  /**
   * Runs the new job as the caller of `retry()`, with their cookies and
   * forwarded headers (credentials are never stored, so never those of the
   * first job's caller). Default: true.
   */
  withUserCookies?: boolean;
}
