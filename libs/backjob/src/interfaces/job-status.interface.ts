import type { JobStatus } from './job-status.enum.js';

/** What `getStatus()` and `watch()` tell about a job: its public fields only. */
export interface JobStatusSnapshot {
  /** The job id returned by `start()`. */
  id: string;
  /** 0 to 100. */
  progress: number;
  /** See `JobStatus`. */
  status: JobStatus;
  /** The action's output so far, or the text given to `update()`/`finish()`/`fail()`. */
  statusText: string;
  /** When the job was started, or when its delay ends. */
  startTime: Date;
  /** The last change of progress, output or status. */
  updatedTime: Date;
  /** When it completed or failed; `null` while it runs. */
  endTime: Date | null;
}
