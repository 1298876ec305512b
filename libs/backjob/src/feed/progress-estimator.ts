import {
  isFinalStatus,
  isWaitingStatus,
  JobStatus,
} from '../lifecycle/job-lifecycle.js';
import type { JobRecord } from '../storage/job-store.js';

/**
 * How far back the rate looks: long enough to smooth out uneven steps, short
 * enough to follow an action that speeds up or slows down.
 */
const RATE_WINDOW_MS = 10_000;

interface ProgressSample {
  /** The job's `updatedTime`: the clock of the instance that wrote it. */
  time: number;
  progress: number;
}

/** What `ProgressEstimator` tells; units as in `JobStatusSnapshot`. */
export interface ProgressEstimate {
  /** Seconds left, from `now`. */
  eta: number | null;
  /** Percentage points per second. */
  rate: number | null;
}

/**
 * Rate and ETA of one job, from the (updatedTime, progress) pairs that its
 * reads returned, plus (startTime, 0) as the first one.
 *
 * Only stored times are used, never the time a read happened: a watcher in
 * another instance, fed by polling or Redis, then measures the same pace as
 * one beside the action, just from fewer samples; and a single read (as in
 * `getStatus()`) still yields the average pace since the start.
 */
export class ProgressEstimator {
  private samples: ProgressSample[] = [];

  /** Adds the job's current state as a sample and estimates from the window. */
  estimate(job: JobRecord, now: number): ProgressEstimate {
    if (isFinalStatus(job.status)) return endedEstimate(job);
    if (isWaitingStatus(job.status)) return { eta: null, rate: null };
    this.add(job);
    const last = this.samples[this.samples.length - 1];
    const reference = this.reference(last.time - RATE_WINDOW_MS);
    const elapsed = last.time - reference.time;
    const gained = last.progress - reference.progress;
    if (elapsed <= 0 || gained < 0) return { eta: null, rate: null };
    const rate = (gained * 1000) / elapsed;
    return { rate, eta: remainingSeconds(last, rate, now) };
  }

  private add(job: JobRecord): void {
    if (this.samples.length === 0)
      this.samples.push({ time: job.startTime, progress: 0 });
    const last = this.samples[this.samples.length - 1];
    const sample = { time: job.updatedTime, progress: job.progress };
    if (sample.time > last.time) this.samples.push(sample);
    // Two writes in one millisecond: the later one stands for both.
    else if (sample.time === last.time && this.samples.length > 1)
      this.samples[this.samples.length - 1] = sample;
  }

  /**
   * The newest sample at least a window older than the last one (or the
   * oldest kept); older samples can no longer be a reference and are dropped.
   */
  private reference(windowStart: number): ProgressSample {
    let index = 0;
    while (
      index + 1 < this.samples.length - 1 &&
      this.samples[index + 1].time <= windowStart
    )
      index++;
    this.samples.splice(0, index);
    return this.samples[0];
  }
}

function remainingSeconds(
  last: ProgressSample,
  rate: number,
  now: number,
): number | null {
  if (last.progress >= 100) return 0;
  if (rate === 0) return null;
  const sinceLast = Math.max(0, now - last.time) / 1000;
  return Math.max(0, (100 - last.progress) / rate - sinceLast);
}

/** An ended job: its average pace over the whole run. */
function endedEstimate(job: JobRecord): ProgressEstimate {
  const ran = (job.endTime ?? job.updatedTime) - job.startTime;
  return {
    eta: job.status === JobStatus.Completed ? 0 : null,
    rate: ran > 0 ? (job.progress * 1000) / ran : null,
  };
}
