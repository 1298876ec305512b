import { SetMetadata } from '@nestjs/common';
import type { JobStatus } from '../lifecycle/job-lifecycle.js';

/** Metadata key of `@OnJobEnd()` listeners. */
export const ON_JOB_END = 'backjob:on-job-end';

/** Which endings an `@OnJobEnd()` listener hears. */
export interface OnJobEndOptions {
  /** Only jobs that ended with this status, or one of these. Default: every ending. */
  status?: JobStatus | readonly JobStatus[];
  /** Only jobs started with this `scope`. Default: every scope. */
  scope?: string;
}

/**
 * Calls the decorated method of a provider with the final snapshot of each
 * job that ends (`(job: JobStatusSnapshot) => unknown`). Of instances that
 * share a store, only the one that wrote the ending calls it: one call per
 * ending, not one per instance. What it throws or rejects with is logged.
 *
 * ```ts
 * @OnJobEnd({ status: JobStatus.Completed })
 * async mail(job: JobStatusSnapshot) { ... }
 * ```
 */
export const OnJobEnd = (options: OnJobEndOptions = {}): MethodDecorator =>
  SetMetadata(ON_JOB_END, options);
