import { statusName, type FinalStatus } from '../lifecycle/job-lifecycle.js';

/** The keys both cache stores write under `cachePrefix`. */
export class JobCacheKeys {
  constructor(readonly prefix: string) {}

  /** Prefix of the job entries; a job's key is this and its id. */
  get jobPrefix(): string {
    return `${this.prefix}job:`;
  }

  job(id: string): string {
    return `${this.jobPrefix}${id}`;
  }

  /** The index of pending jobs, scored by their last sign of life. */
  get pending(): string {
    return `${this.prefix}pending`;
  }

  /** The index of ended jobs with this status (`completed`, `failed`, `cancelled`), scored by their end. */
  ended(status: FinalStatus): string {
    return `${this.prefix}${statusName(status)}`;
  }

  /** The index of every job, scored by its start time (for `list()`). */
  get listed(): string {
    return `${this.prefix}list`;
  }

  /** The same index for one scope. */
  listedIn(scope: string): string {
    return `${this.prefix}list:${scope}`;
  }

  get mergePrefix(): string {
    return `${this.prefix}merge:`;
  }

  merge(mergeKey: string): string {
    return `${this.mergePrefix}${mergeKey}`;
  }
}
