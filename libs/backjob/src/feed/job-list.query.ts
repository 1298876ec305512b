import * as messages from '../backjob.messages.js';
import { InvalidJobQueryError } from '../errors/invalid-job-query.error.js';
import { isJobId } from '../lifecycle/job-id.js';
import { ALL_STATUSES, type JobStatus } from '../lifecycle/job-lifecycle.js';
import type { JobListOptions } from '../interfaces/job-list.interface.js';
import type {
  JobListPosition,
  JobListQuery,
  JobRecord,
} from '../storage/job-store.js';

/** The page size of `list()` when none is given. */
export const DEFAULT_LIST_LIMIT = 20;
/** The largest page `list()` gives: a page holds whole outputs. */
export const MAX_LIST_LIMIT = 100;

/**
 * The store query of `list()` options, checked before anything is read.
 * One more job than the page is asked for: it tells whether more remain.
 */
export function toListQuery(options: JobListOptions = {}): JobListQuery {
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw new InvalidJobQueryError(
      messages.invalidListLimitMessage(options.limit, MAX_LIST_LIMIT),
    );
  return {
    scope: checkListScope(options.scope),
    statuses: checkStatuses(options.status),
    after:
      options.cursor === undefined ? undefined : decodeCursor(options.cursor),
    limit: limit + 1,
  };
}

export function checkListScope(scope: unknown): string | undefined {
  if (typeof scope === 'string' && scope.includes('\0'))
    throw new InvalidJobQueryError(messages.nulListScopeMessage());
  if (scope === undefined || typeof scope === 'string') return scope;
  throw new InvalidJobQueryError(messages.invalidListScopeMessage(scope));
}

function checkStatuses(
  status: JobListOptions['status'],
): readonly JobStatus[] | undefined {
  if (status === undefined) return undefined;
  const statuses = Array.isArray(status) ? status : [status];
  for (const one of statuses)
    if (!ALL_STATUSES.includes(one))
      throw new InvalidJobQueryError(messages.invalidListStatusMessage(one));
  return statuses;
}

/** The page, and the cursor of the next one while more remain. */
export function toPage(
  records: readonly JobRecord[],
  query: JobListQuery,
): { jobs: JobRecord[]; cursor?: string } {
  const pageSize = query.limit - 1;
  if (records.length <= pageSize) return { jobs: [...records] };
  const jobs = records.slice(0, pageSize);
  const last = jobs[jobs.length - 1];
  return {
    jobs,
    cursor: encodeCursor({ startTime: last.startTime, id: last.id }),
  };
}

// A cursor is where the page ends, opaque to callers: base64url of
// [startTime, id]. It grants nothing: the scope filter applies to every page.
function encodeCursor(position: JobListPosition): string {
  return Buffer.from(
    JSON.stringify([position.startTime, position.id]),
  ).toString('base64url');
}

function decodeCursor(cursor: unknown): JobListPosition {
  if (typeof cursor === 'string') {
    try {
      const [startTime, id] = JSON.parse(
        Buffer.from(cursor, 'base64url').toString('utf8'),
      ) as unknown[];
      if (Number.isFinite(startTime) && isJobId(id))
        return { startTime: startTime as number, id };
    } catch {
      // Not ours: refused below like any other.
    }
  }
  throw new InvalidJobQueryError(messages.invalidListCursorMessage());
}
