// The rules of a job's life, in one place and nowhere else: its statuses,
// which of them are pending or final, the transitions between them, the text
// of every ending, when a job is stale and how long ended jobs are kept.
// Pure: no Nest, no I/O. Stores, scripts, the feed, the sweep, the monitor
// and the service import these; none of them restates a rule.

/**
 * Life cycle of a job, with the numbers of the original BackJob so that
 * existing tables and clients keep their meaning.
 */
export enum JobStatus {
  /**
   * Recorded, not running yet: waiting for its delay, or queued behind
   * `maxConcurrentJobs`, or about to be picked up.
   */
  Started = 0,
  /** A worker request claimed it and the action is running. */
  InProgress = 1,
  /** The action ended normally. Final. */
  Completed = 2,
  /** The action threw, called `fail()`, timed out, was interrupted or could not be reached. Final. */
  Failed = 3,
  /** `cancel()` ended it. Final. */
  Cancelled = 4,
}

/** A status a job never leaves. */
export type FinalStatus =
  JobStatus.Completed | JobStatus.Failed | JobStatus.Cancelled;

/** The statuses a job can still leave. */
export const PENDING_STATUSES: readonly JobStatus[] = [
  JobStatus.Started,
  JobStatus.InProgress,
];

/** The statuses a job never leaves. */
export const FINAL_STATUSES: readonly FinalStatus[] = [
  JobStatus.Completed,
  JobStatus.Failed,
  JobStatus.Cancelled,
];

/** Every status, in their numeric order. */
export const ALL_STATUSES: readonly JobStatus[] = [
  ...PENDING_STATUSES,
  ...FINAL_STATUSES,
];

export function isPendingStatus(status: JobStatus): boolean {
  return PENDING_STATUSES.includes(status);
}

export function isFinalStatus(status: JobStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly JobStatus[]).includes(status);
}

/** A status's name in lower case, for keys and logs: `'started'`, `'cancelled'`… */
export function statusName(status: JobStatus): string {
  return JobStatus[status].toLowerCase();
}

// Every allowed move. A job is claimed once (Started → InProgress); any
// pending job can end in any final status (a waiting job can be cancelled,
// finished or failed by id, or fail when its instance stops); nothing leaves
// a final status, which is what fences off the late writes of a handler.
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  [JobStatus.Started]: [JobStatus.InProgress, ...FINAL_STATUSES],
  [JobStatus.InProgress]: FINAL_STATUSES,
  [JobStatus.Completed]: [],
  [JobStatus.Failed]: [],
  [JobStatus.Cancelled]: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses from which a job may move to `to`: what a conditional write checks. */
export function statusesBefore(to: JobStatus): readonly JobStatus[] {
  return ALL_STATUSES.filter((from) => canTransition(from, to));
}

/** Where a claim starts from: only a job nobody runs yet. */
export const CLAIMABLE_STATUSES = statusesBefore(JobStatus.InProgress);

/** Where progress may be written: a pending job. */
export const PROGRESS_STATUSES = PENDING_STATUSES;

/** Where a waiting job's heartbeat may be written: a job not running yet. */
export const WAITING_STATUSES: readonly JobStatus[] = [JobStatus.Started];

/** A job not running yet: delayed, queued, or about to be claimed. */
export function isWaitingStatus(status: JobStatus): boolean {
  return WAITING_STATUSES.includes(status);
}

/** A job whose handler runs: pending, and no longer waiting. */
export function isRunningStatus(status: JobStatus): boolean {
  return isPendingStatus(status) && !isWaitingStatus(status);
}

/** Where an ending starts from: a pending job. Every final status has the same sources. */
export const ENDABLE_STATUSES = statusesBefore(JobStatus.Failed);

// ---------------------------------------------------------------------------
// Endings

/** The final state of a job, as every store writes it. */
export interface JobEnding {
  status: FinalStatus;
  statusText: string;
  /** Set for a completed job (100); otherwise the progress stays as it was. */
  progress?: number;
  /**
   * The job's result as JSON text (what the handler returned, or gave
   * `setResult()`); absent keeps what is stored, i.e. none.
   */
  result?: string;
}

/** Texts of the endings that the module decides itself. */
export const ENDING_TEXTS = {
  timedOut: 'job timeout',
  cancelled: 'cancelled',
  interrupted: 'interrupted by shutdown',
  notStartedBeforeShutdown: 'instance shut down before the job started',
  storeDidNotAnswer:
    'not started: the cache, where jobs are kept, did not answer in time, and start() failed',
  recordedTooLate:
    'not started: the database recorded the job after start() had given up waiting for it (requestTimeout)',
  instanceLost:
    'the instance that held this job stopped before the job started; the job ran as a user, and their credentials were only in that instance',
} as const;

/** Adds a line to a job's text, keeping what the action wrote before it. */
export function appendLine(text: string, line: string): string {
  if (!line) return text;
  if (!text) return line;
  return text.endsWith('\n') ? `${text}${line}` : `${text}\n${line}`;
}

/**
 * Every way a job ends, with its text. `output` is what the action wrote so
 * far (kept first), `reason` a sentence saying why.
 */
export const JobEndings = {
  /** The action ended normally, or `finish()`: with its output, at 100 %, and its result. */
  completed: (output: string, result?: string): JobEnding => ({
    status: JobStatus.Completed,
    statusText: output,
    progress: 100,
    ...(result === undefined ? {} : { result }),
  }),
  /**
   * The action threw or called `fail()`, or its worker answered with an
   * error; with the result it set before, if any.
   */
  failed: (output: string, reason = '', result?: string): JobEnding => ({
    status: JobStatus.Failed,
    statusText: appendLine(output, reason),
    ...(result === undefined ? {} : { result }),
  }),
  /** No sign of life for `errorTimeout`. */
  timedOut: (output: string): JobEnding =>
    JobEndings.failed(output, ENDING_TEXTS.timedOut),
  /** `cancel()`, with the caller's reason if any. */
  cancelled: (output: string, reason?: string): JobEnding => ({
    status: JobStatus.Cancelled,
    statusText: appendLine(
      output,
      reason ? `${ENDING_TEXTS.cancelled}: ${reason}` : ENDING_TEXTS.cancelled,
    ),
  }),
  /** Its handler still ran when the grace period of a shutdown was over. */
  interrupted: (output: string): JobEnding =>
    JobEndings.failed(output, ENDING_TEXTS.interrupted),
  /** It waited, as a user, in an instance that shut down. */
  notStartedBeforeShutdown: (output: string): JobEnding =>
    JobEndings.failed(output, ENDING_TEXTS.notStartedBeforeShutdown),
  /** It waited, as a user, in an instance that died. */
  instanceLost: (output: string): JobEnding =>
    JobEndings.failed(output, ENDING_TEXTS.instanceLost),
  /** An internal request could not be delivered or was refused: `reason` names the URL. */
  unreachable: (output: string, reason: string): JobEnding =>
    JobEndings.failed(output, reason),
} as const;

// ---------------------------------------------------------------------------
// Staleness

/** What a job must have for the staleness rule: its times and status. */
export interface JobTimes {
  status: JobStatus;
  startTime: number;
  updatedTime: number;
}

/**
 * The fields whose latest value is a job's last sign of life. Only its last
 * update: a running job updates it with its progress, and the instance that
 * holds a waiting job (delayed or queued) renews it with a heartbeat, so a
 * job that waits is never stale while its instance lives, however long it
 * waits. A list, so that a store that cannot compute a maximum compares
 * each field to the cutoff.
 */
export const SIGN_OF_LIFE_FIELDS = ['updatedTime'] as const;

export function lastSignOfLife(job: Pick<JobTimes, 'updatedTime'>): number {
  return Math.max(...SIGN_OF_LIFE_FIELDS.map((field) => job[field]));
}

/** Jobs whose last sign of life is before this are stale. */
export function staleCutoff(now: number, errorTimeoutSeconds: number): number {
  return now - errorTimeoutSeconds * 1000;
}

/**
 * A pending job with no sign of life for `errorTimeout`: its handler hung or
 * its instance died. Waiting jobs are kept alive by their instance's
 * heartbeat, so for them this means the instance is gone.
 */
export function isStale(
  job: JobTimes,
  now: number,
  errorTimeoutSeconds: number,
): boolean {
  return (
    isPendingStatus(job.status) &&
    lastSignOfLife(job) < staleCutoff(now, errorTimeoutSeconds)
  );
}

/** When a pending job counts as stalled, a hint before it is stale: after half of `errorTimeout`. */
export function stallTime(
  job: Pick<JobTimes, 'updatedTime'>,
  errorTimeoutSeconds: number,
): number {
  return lastSignOfLife(job) + errorTimeoutSeconds * 500;
}

export function isStalled(
  job: JobTimes,
  now: number,
  errorTimeoutSeconds: number,
): boolean {
  return (
    isPendingStatus(job.status) && now >= stallTime(job, errorTimeoutSeconds)
  );
}

/**
 * The sign of life of a waiting job that its instance let go at shutdown: so
 * old that the next sweep of any instance (one that boots, too) finds it
 * stale and takes it over, keeping its start time, so its delay too.
 */
export const RELEASED_SIGN_OF_LIFE = 0;

/** What a sweep does with a stale job. */
export type StaleVerdict =
  { action: 'take-over' } | { action: 'end'; ending: JobEnding };

/**
 * A stale job that never ran and runs anonymously is taken by the instance
 * that found it: nothing of it was lost. One that runs as a user cannot be,
 * since the caller's credentials were only in the instance that died. A
 * running one timed out.
 */
export function staleVerdict(
  job: JobTimes & { anonymous: boolean; statusText: string },
): StaleVerdict {
  if (job.status === JobStatus.Started && job.anonymous)
    return { action: 'take-over' };
  if (job.status === JobStatus.Started)
    return { action: 'end', ending: JobEndings.instanceLost(job.statusText) };
  return { action: 'end', ending: JobEndings.timedOut(job.statusText) };
}

/**
 * How often an instance sweeps for stale jobs: often enough that a dead
 * instance's job is failed within 1.5 × `errorTimeout`, unless the app set
 * `sweepInterval`.
 */
export function sweepIntervalSeconds(
  errorTimeoutSeconds: number,
  configured: number | undefined,
): number {
  return configured ?? errorTimeoutSeconds / 2;
}

/** How often an instance renews the sign of life of the jobs waiting in it: three times per `errorTimeout`. */
export function heartbeatIntervalMs(errorTimeoutSeconds: number): number {
  return (errorTimeoutSeconds * 1000) / 3;
}

// ---------------------------------------------------------------------------
// Retention

const DAY_MS = 24 * 60 * 60 * 1000;

/** Ended jobs with one of `statuses` that ended before `endedBefore` are deleted. */
export interface RetentionRule {
  statuses: readonly FinalStatus[];
  endedBefore: number;
}

/**
 * The backlog cleanup: completed jobs go `backlogDays` after they ended,
 * every ended job `allBacklogDays` after (0 keeps them). Pending jobs are
 * never deleted.
 */
export function retentionRules(
  now: number,
  backlogDays: number,
  allBacklogDays: number,
): RetentionRule[] {
  const rules: RetentionRule[] = [];
  if (backlogDays > 0)
    rules.push({
      statuses: [JobStatus.Completed],
      endedBefore: now - backlogDays * DAY_MS,
    });
  if (allBacklogDays > 0)
    rules.push({
      statuses: FINAL_STATUSES,
      endedBefore: now - allBacklogDays * DAY_MS,
    });
  return rules;
}

/**
 * Milliseconds an ended job with `status` is kept after it ended, by the
 * same rules; `0` for ever.
 */
export function keptMs(
  status: FinalStatus,
  backlogDays: number,
  allBacklogDays: number,
): number {
  const days = [
    status === JobStatus.Completed ? backlogDays : 0,
    allBacklogDays,
  ].filter((d) => d > 0);
  return days.length === 0 ? 0 : Math.min(...days) * DAY_MS;
}
