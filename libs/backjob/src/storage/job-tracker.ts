import { Inject, Injectable, Logger } from '@nestjs/common';
import { Subject } from 'rxjs';
import {
  BACKJOB_JOB_STORE,
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import {
  isFinalStatus,
  JobStatus,
  type JobEnding,
  type RetentionRule,
} from '../lifecycle/job-lifecycle.js';
import {
  JobStore,
  type JobProgressChange,
  type JobRecord,
} from './job-store.js';

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FINAL_WRITE_ATTEMPTS = 4;

/**
 * Every read and transition of a job goes through here: it keeps hostile ids
 * away from the store, applies the timeout rule, retries final writes through
 * a short database blip and tells watchers what changed.
 */
@Injectable()
export class JobTracker {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  /** Ids of jobs that changed in this instance, as soon as the write is done. */
  readonly changes = new Subject<string>();

  constructor(
    @Inject(BACKJOB_JOB_STORE) private readonly store: JobStore,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {}

  static isJobId(id: unknown): id is string {
    return typeof id === 'string' && JOB_ID.test(id);
  }

  /**
   * Records a job, or returns the pending identical one (see
   * `JobStore.insert`) — unless that one timed out unnoticed, which is
   * failed first so that the new request gets a job that will run.
   */
  async insert(job: JobRecord): Promise<{ id: string; merged: boolean }> {
    const result = await this.store.insert(job);
    if (!result.merged) {
      this.changes.next(job.id);
      return result;
    }
    const pending = await this.store.find(result.id);
    if (!pending || !this.isStale(pending)) return result;
    await this.failTimedOut(pending);
    return this.insert(job);
  }

  /**
   * The job, after failing it with "job timeout" when it is pending and had
   * no update for `errorTimeout`. `null` for an unknown or malformed id.
   */
  async read(id: unknown): Promise<JobRecord | null> {
    if (!JobTracker.isJobId(id)) return null;
    const job = await this.store.find(id);
    if (!job || !this.isStale(job)) return job;
    await this.failTimedOut(job);
    return this.store.find(id);
  }

  /** Fails a pending job with "job timeout" after what it wrote so far. */
  async failTimedOut(job: JobRecord): Promise<boolean> {
    return this.end(job.id, {
      status: JobStatus.Failed,
      statusText: appendLine(job.statusText, messages.jobTimeoutMessage()),
    });
  }

  /** Reads without the timeout rule, for the monitor that enforces it itself. */
  find(id: string): Promise<JobRecord | null> {
    return this.store.find(id);
  }

  isStale(job: JobRecord, now = Date.now()): boolean {
    if (isFinalStatus(job.status)) return false;
    const cutoff = now - this.options.errorTimeout * 1000;
    return job.updatedTime < cutoff && job.startTime < cutoff;
  }

  async claim(id: string): Promise<boolean> {
    const claimed = await this.store.claim(id, Date.now());
    if (claimed) this.changes.next(id);
    return claimed;
  }

  async saveProgress(id: string, change: JobProgressChange): Promise<boolean> {
    const saved = await this.store.saveProgress(id, change, Date.now());
    if (saved) this.changes.next(id);
    return saved;
  }

  /**
   * Ends a pending job, retrying a failed write a few times (a job must not
   * stay pending because the database blinked). False when it had ended.
   */
  async end(id: string, ending: JobEnding): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const ended = await this.store.end(id, ending, Date.now());
        if (ended) this.changes.next(id);
        return ended;
      } catch (error) {
        if (attempt >= FINAL_WRITE_ATTEMPTS) {
          this.logger.error(messages.finalWriteFailedMessage(id, error));
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * 4 ** attempt));
      }
    }
  }

  /** Fails every pending job that timed out; returns how many. */
  async failStaleJobs(): Promise<number> {
    const cutoff = Date.now() - this.options.errorTimeout * 1000;
    let failed = 0;
    for (const id of await this.store.findStale(cutoff, 500)) {
      if (await this.read(id).then((job) => job?.status === JobStatus.Failed))
        failed++;
    }
    return failed;
  }

  deleteEnded(rules: readonly RetentionRule[]): Promise<number> {
    return this.store.deleteEnded(rules);
  }
}

/** Adds a line to a job's text, keeping what the action wrote before it. */
export function appendLine(text: string, line: string): string {
  if (!text) return line;
  return text.endsWith('\n') ? `${text}${line}` : `${text}\n${line}`;
}
