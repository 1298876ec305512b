import type { JobStatusSnapshot } from '../../interfaces/job-status.interface.js';

/**
 * A job as the dashboard's JSON gives it: its snapshot with only the tail of
 * its output (the last 2,048 characters) and without its result, which can
 * be as large as the output. `GET <path>/:id` gives the whole snapshot.
 */
export interface DashboardJob extends Omit<JobStatusSnapshot, 'result'> {
  /** How many characters of the output came before `statusText`: 0 when it is whole. */
  statusTextCut: number;
}

/** A page of `GET <path>/dashboard/jobs`: newest first. */
export interface DashboardJobPage {
  /**
   * The jobs of the page the caller may watch (`canWatch()`): a page can
   * hold fewer jobs than asked for, even none, while `cursor` is present.
   */
  jobs: DashboardJob[];
  /** Present while older jobs remain: pass it as `cursor` for the next page. */
  cursor?: string;
}
