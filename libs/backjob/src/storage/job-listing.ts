import type { JobListPosition, JobRecord } from './job-store.js';

// The order of `list()`, for the stores that sort in JavaScript: newest
// first by start time, then by id descending. SQL says the same with
// `ORDER BY start_time DESC, id DESC`, and a Redis sorted set scored by the
// start time gives it with ZREVRANGEBYSCORE, which orders equal scores by
// member descending.

/** Negative when `a` comes first. */
export function newestFirst(a: JobListPosition, b: JobListPosition): number {
  if (a.startTime !== b.startTime) return b.startTime - a.startTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** True when `job` comes after `position` in that order. */
export function comesAfter(
  job: JobListPosition,
  position: JobListPosition | undefined,
): boolean {
  return position === undefined || newestFirst(position, job) < 0;
}

/** Where a page that ended with `job` resumes. */
export function positionOf(job: JobRecord): JobListPosition {
  return { startTime: job.startTime, id: job.id };
}
