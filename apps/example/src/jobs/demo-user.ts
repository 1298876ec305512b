import type { IncomingHttpHeaders } from 'node:http';
import type { WatchedJob } from 'nestjs-backjob';

/**
 * A request as the example reads it, on either platform: Express's
 * `Request` and Fastify's `FastifyRequest` both carry the headers.
 */
export interface DemoRequest {
  headers: IncomingHttpHeaders;
}

/** The cookie the page sets when you type a name: the example has no login. */
export const DEMO_USER_COOKIE = 'demo_user';

const NAME = /^[\p{L}\p{N} ._-]{1,40}$/u;

/**
 * The demo user of a request, read from its `demo_user` cookie; `null`
 * when there is none (or it is not a plausible name). A real app would
 * read its session or `request.user` here.
 */
export function demoUserOf(request: DemoRequest): string | null {
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = pair.trim().split('=');
    if (name !== DEMO_USER_COOKIE) continue;
    try {
      const user = decodeURIComponent(value.join('='));
      return NAME.test(user) ? user : null;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * The scope of the jobs a request starts: its user's name, or `''` for
 * a visitor who gave none (all such visitors share it).
 */
export function demoScopeOf(request: DemoRequest): string {
  return demoUserOf(request) ?? '';
}

/**
 * BackJobLiveModule's hook: a job started by a user (its scope is their
 * name) is theirs to watch; a job started without a user is anyone's.
 */
export function canWatchDemoJob(
  job: WatchedJob,
  request: DemoRequest,
): boolean {
  return canSeeDemoScope(job.scope, request);
}

/**
 * Who may cancel a job or run it again, from the page and from the
 * dashboard: who started it (a visitor without a name, the jobs of others
 * without one). A real app might let its admins too.
 */
export function canManageDemoJob(
  job: WatchedJob,
  request: DemoRequest,
): boolean {
  return job.scope === demoScopeOf(request);
}

/**
 * The dashboard's totals per status: only of a scope whose jobs the
 * request may watch, so that they tell nothing about other users' jobs.
 */
export function canCountDemoJobs(
  scope: string | undefined,
  request: DemoRequest,
): boolean {
  return scope !== undefined && canSeeDemoScope(scope, request);
}

function canSeeDemoScope(scope: string, request: DemoRequest): boolean {
  return scope === '' || scope === demoUserOf(request);
}
