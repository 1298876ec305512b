import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import type { JobRecord } from '../storage/job-store.js';
import type { ProgressEstimate } from './progress-estimator.js';

/** The public fields of a job, as `getStatus()` and `watch()` give them. */
export function toJobSnapshot(
  job: JobRecord,
  estimate: ProgressEstimate,
  stalled: boolean,
): JobStatusSnapshot {
  return {
    id: job.id,
    scope: job.scope,
    progress: job.progress,
    status: job.status,
    statusText: job.statusText,
    startTime: new Date(job.startTime),
    updatedTime: new Date(job.updatedTime),
    endTime: job.endTime === null ? null : new Date(job.endTime),
    eta: estimate.eta,
    rate: estimate.rate,
    stalled,
    result: parsedResult(job.result),
    retryOf: job.retryOf,
  };
}

/** A stored result as its value; text that is not JSON (written by hand) as it is. */
function parsedResult(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}
