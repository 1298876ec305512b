// The dashboard's reading of its query strings and its trimming of jobs:
// pure, so that what a browser may send is tested without a server.

import * as messages from '../../backjob.messages.js';
import type { JobStatusSnapshot } from '../../interfaces/job-status.interface.js';
import {
  ALL_STATUSES,
  statusName,
  type JobStatus,
} from '../../lifecycle/job-lifecycle.js';
import type { DashboardJob } from './dashboard.interface.js';

/**
 * How much of a job's output the dashboard sends, at most: its end, where
 * the news is.
 */
export const OUTPUT_TAIL_CHARS = 2048;

/** Jobs per page when the page asks for no `limit`. */
export const DEFAULT_DASHBOARD_LIMIT = 50;

/**
 * Store pages read at most for one dashboard page when `canWatch()` hides
 * jobs: enough to fill a page for a caller who may watch some of them,
 * bounded for one who may watch none (the page then goes on with the cursor).
 */
export const MAX_READS_PER_PAGE = 5;

/** Why a query string cannot be used: the controller answers 400 with it. */
export class DashboardQueryError extends Error {
  override name = 'DashboardQueryError';
}

/**
 * One value of a query parameter: Express and Fastify both give an array
 * for a parameter that appears twice, which the dashboard never sends.
 */
export function singleParameter(
  name: string,
  value: unknown,
): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new DashboardQueryError(
    messages.invalidDashboardParameterMessage(name),
  );
}

/**
 * Refuses parameters the route does not read: `status[]=3` (a parser's
 * bracket notation) would otherwise be ignored, and the answer read as
 * filtered.
 */
export function checkParameters(
  query: unknown,
  known: readonly string[],
): void {
  const names = Object.keys((query as object | undefined) ?? {});
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new DashboardQueryError(
      messages.unknownDashboardParametersMessage(unknown, known),
    );
}

/**
 * The statuses of `status=1,2` or `status=failed,cancelled` (numbers and
 * names may mix); `undefined` for none, i.e. every status.
 */
export function parseStatusFilter(value: unknown): JobStatus[] | undefined {
  const text = singleParameter('status', value)?.trim();
  if (!text) return undefined;
  return text.split(',').map((part) => {
    const word = part.trim().toLowerCase();
    const status = /^\d+$/.test(word)
      ? ALL_STATUSES.find((s) => s === Number(word))
      : ALL_STATUSES.find((s) => statusName(s) === word);
    if (status === undefined)
      throw new DashboardQueryError(
        messages.invalidDashboardStatusMessage(
          part.trim(),
          ALL_STATUSES.map((s) => `${s} (${statusName(s)})`).join(', '),
        ),
      );
    return status;
  });
}

/**
 * The page size: a number for digits, else the text as it came, so that
 * `list()` refuses it with the value the caller sent.
 */
export function parseLimit(value: unknown): number {
  const text = singleParameter('limit', value);
  if (text === undefined || text === '') return DEFAULT_DASHBOARD_LIMIT;
  // Not a number for anything else: list() refuses it, naming it.
  return (/^\d+$/.test(text) ? Number(text) : text) as number;
}

/** The snapshot as the dashboard sends it: the output's tail, no result. */
export function toDashboardJob(snapshot: JobStatusSnapshot): DashboardJob {
  const { result: _result, statusText, ...rest } = snapshot;
  const tail = outputTail(statusText);
  return {
    ...rest,
    statusText: tail,
    statusTextCut: statusText.length - tail.length,
  };
}

/** How far into the tail a line may begin for the tail to begin with it. */
const LINE_START_WITHIN = 200;

function outputTail(text: string): string {
  if (text.length <= OUTPUT_TAIL_CHARS) return text;
  let start = text.length - OUTPUT_TAIL_CHARS;
  // Begin with a whole line when one begins near the cut, and never with
  // the second half of a surrogate pair (an emoji cut in two).
  const newline = text.indexOf('\n', start);
  if (newline !== -1 && newline < start + LINE_START_WITHIN)
    start = newline + 1;
  const code = text.charCodeAt(start);
  if (code >= 0xdc00 && code <= 0xdfff) start++;
  return text.slice(start);
}
