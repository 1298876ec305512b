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
 * BackJobLiveModule's hook: a job started by a user (its scope is their
 * name) is theirs to watch; a job started without a user is anyone's.
 */
export function canWatchDemoJob(
  job: WatchedJob,
  request: DemoRequest,
): boolean {
  return job.scope === '' || job.scope === demoUserOf(request);
}
