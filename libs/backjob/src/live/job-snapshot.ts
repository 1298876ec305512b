import { isFinalStatus } from '../interfaces/job-status.enum.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import type { JobRecord } from '../storage/job-store.js';
import type { ProgressEstimate } from './progress-estimator.js';

/**
 * The last sign of life of a job: its last update, or its start time when
 * that is later (a delayed job is not late before it was due).
 */
export function lastSignOfLife(job: JobRecord): number {
  return Math.max(job.updatedTime, job.startTime);
}

/** When a pending job counts as stalled: after half of `errorTimeout`. */
export function stallTime(job: JobRecord, errorTimeoutSeconds: number): number {
  return lastSignOfLife(job) + errorTimeoutSeconds * 500;
}

export function isStalled(
  job: JobRecord,
  now: number,
  errorTimeoutSeconds: number,
): boolean {
  return (
    !isFinalStatus(job.status) && now >= stallTime(job, errorTimeoutSeconds)
  );
}

/** The public fields of a job, as `getStatus()` and `watch()` give them. */
export function toJobSnapshot(
  job: JobRecord,
  estimate: ProgressEstimate,
  stalled: boolean,
): JobStatusSnapshot {
  return {
    id: job.id,
    progress: job.progress,
    status: job.status,
    statusText: job.statusText,
    startTime: new Date(job.startTime),
    updatedTime: new Date(job.updatedTime),
    endTime: job.endTime === null ? null : new Date(job.endTime),
    eta: estimate.eta,
    rate: estimate.rate,
    stalled,
  };
}
