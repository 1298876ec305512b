// Every sentence the module shows a developer, in one place: what went wrong,
// then how to fix it.

import { inspect } from 'node:util';

export const noStoreMessage = () =>
  'BackJob has nowhere to keep jobs: both useDb and useCache are false. Set useDb: true (TypeORM) or useCache: true (@nestjs/cache-manager).';

export const shortKeyMessage = (length: number) =>
  `BackJob's key is ${length} characters long; it signs internal requests and must have at least 32. Generate one with \`openssl rand -base64 32\` and pass it as the key option.`;

export const missingKeyInProductionMessage = () =>
  'BackJob has no key while NODE_ENV is production. Set the key option to a secret of at least 32 characters that every instance shares (for example from the BACKJOB_KEY environment variable).';

export const randomKeyWarning = () =>
  'BackJob has no key option, so it made a random one for this process. That is fine for one instance; several instances must share one key (the key option).';

/** A value as the user wrote it: a string quoted, so that '60' does not read as 60. */
const optionValue = (value: unknown) =>
  typeof value === 'string'
    ? JSON.stringify(value)
    : Array.isArray(value)
      ? 'an array'
      : value !== null && typeof value === 'object'
        ? 'an object'
        : String(value);

export const positiveNumberMessage = (name: string, value: unknown) =>
  `BackJob's ${name} must be a number greater than 0, not ${optionValue(value)}.`;

export const nonNegativeNumberMessage = (name: string, value: unknown) =>
  `BackJob's ${name} must be a number of 0 or more (0 turns it off), not ${optionValue(value)}.`;

export const invalidKeyTypeMessage = (value: unknown) =>
  `BackJob's key must be a string of at least 32 characters, not ${optionValue(value)}. Generate one with \`openssl rand -base64 32\` and pass it as the key option.`;

export const invalidForwardHeadersMessage = (value: unknown) =>
  `BackJob's forwardHeaders must be a list of header names, e.g. ['cookie', 'authorization'], not ${Array.isArray(value) ? JSON.stringify(value) : optionValue(value)}.`;

export const invalidBooleanOptionMessage = (name: string, value: unknown) =>
  `BackJob's ${name} must be true or false, not ${optionValue(value)}.`;

export const invalidTextOptionMessage = (name: string, value: unknown) =>
  `BackJob's ${name} must be a string, not ${optionValue(value)}.`;

export const unknownOptionsWarning = (names: string[]) =>
  `BackJob does not know the option${names.length > 1 ? 's' : ''} ${names.map((name) => JSON.stringify(name)).join(', ')}, and ignores ${names.length > 1 ? 'them' : 'it'}. Check the spelling against the options of the README.`;

export const invalidCleanupCronMessage = (value: unknown, why: string) =>
  `BackJob's cleanupCron must be a cron expression, e.g. '0 * * * *' (every hour), not ${optionValue(value)}: ${why}.`;

export const invalidBaseUrlMessage = (value: string) =>
  `BackJob's baseUrl "${value}" is not an absolute http(s) URL. Use a form like "http://127.0.0.1:3000" or "https://lb.internal/app".`;

export const invalidTableNameMessage = (value: string) =>
  `BackJob's tableName "${value}" is not a plain table name. Use letters, digits and underscores only, starting with a letter or underscore.`;

export const invalidRouteMessage = (route: unknown, why: string) =>
  `BackJob cannot start the route ${JSON.stringify(route)}: ${why}. Give a route of the app, such as 'reports/build'.`;

export const routeWithPrefixMessage = (
  route: unknown,
  prefix: string,
  without: string,
) =>
  `BackJob cannot start the route ${JSON.stringify(route)}: it begins with the app's global prefix "${prefix}", and routes are relative to it (it would be sent to /${prefix}/${prefix}…). Give the route without the prefix: ${JSON.stringify(without)}.`;

export const invalidMethodMessage = (
  method: unknown,
  allowed: readonly string[],
) =>
  `BackJob cannot send a ${JSON.stringify(method)} request: Node's HTTP server does not hand that method to the app's routes (CONNECT goes to its 'connect' event). Use one of ${allowed.join(', ')}.`;

export const invalidRequestFormMessage = () =>
  "BackJob's start() takes a route string, an array [route, params] or an object { route, query?, method?, body? }.";

export const invalidParamsMessage = (where: string, value: unknown) =>
  `BackJob cannot send ${optionValue(value)} as ${where}: query parameters are an object of names and values, e.g. { year: 2026 }.`;

export const invalidFormBodyMessage = (value: unknown) =>
  `BackJob cannot send ${optionValue(value)} as a form body: give an object of fields or a url-encoded string, or send it as JSON with bodyType: 'json'.`;

export const invalidStartOptionsMessage = (value: unknown) =>
  `BackJob's start() takes its options as an object, e.g. { scope: 'alice', delay: 5 }, not ${optionValue(value)}.`;

export const invalidStartFlagMessage = (name: string, value: unknown) =>
  `BackJob's start() option ${name} must be true or false, not ${optionValue(value)}.`;

export const invalidBodyTypeMessage = (value: unknown) =>
  `BackJob cannot encode a body as ${JSON.stringify(value)}. Use bodyType 'form' (the default) or 'json'.`;

export const invalidDelayMessage = (delay: unknown) =>
  `BackJob cannot delay a job by ${typeof delay === 'string' ? JSON.stringify(delay) : String(delay)}: the delay is a number of seconds, from 0 to 100 years (3155760000). Pass a number, e.g. { delay: 5 }.`;

export const unsendableValueMessage = (path: string, what: string) =>
  `BackJob cannot send the job request: ${path} is ${what}. Pass plain data (strings, numbers, booleans, null, arrays and objects without cycles), e.g. convert it with String() or pick the fields the route needs.`;

export const invalidScopeMessage = (scope: unknown) =>
  `BackJob's scope must be a string, not ${typeof scope === 'object' ? inspect(scope, { depth: 1 }) : `${typeof scope} ${String(scope)}`}. Pass a label such as the owner's id as a string: { scope: String(user.id) }.`;

export const longScopeMessage = (length: number, max: number) =>
  `BackJob's scope is ${length} characters long; the job table keeps at most ${max} (Unicode characters, as PostgreSQL and MariaDB count them). Store a shorter label, such as an id, and keep the rest elsewhere.`;

export const nulScopeMessage = () =>
  `BackJob's scope contains a NUL character (\\0), which PostgreSQL's text cannot hold, so no store keeps one. Pass a label without it, such as the owner's id.`;

export const bodyTooLargeMessage = (bytes: number, max: number) =>
  `BackJob cannot send a job request body of ${bytes} bytes: the limit is ${max} bytes (maxRequestBytes, like the 100 kB default of the app's body parser, which would refuse it). Send an id of the data and let the action load it, or raise maxRequestBytes together with the body parser's limit.`;

export const smallOutputCapMessage = (value: unknown, min: number) =>
  `BackJob's maxOutputBytes must be a whole number of at least ${min} (bytes), not ${optionValue(value)}. Leave it out for the 1 MiB default.`;

export const invalidPreviousKeysMessage = () =>
  "BackJob's previousKeys must be a list of keys of at least 32 characters each, the keys other instances may still sign with. Leave it out, or list the old key while the new one rolls out.";

export const positiveIntegerMessage = (name: string, value: unknown) =>
  `BackJob's ${name} must be a whole number of 1 or more, not ${optionValue(value)}.`;

export const shuttingDownMessage = () =>
  'BackJob is shutting down on this instance and starts no new jobs. Start the job on an instance that is running (behind a load balancer, retry the request).';

export const drainedMessage = (counts: {
  drained: number;
  interrupted: number;
  graceSeconds: number;
  leftToOthers: number;
  failedWaiting: number;
}) =>
  `BackJob shut down: ${counts.drained} running job(s) finished, ${counts.interrupted} interrupted after the ${counts.graceSeconds} s grace period, ${counts.leftToOthers} left for other instances, ${counts.failedWaiting} waiting job(s) failed because they ran as a user whose credentials only this instance had.`;

export const shutdownNotRecordedMessage = (count: number, seconds: number) =>
  `BackJob's shutdown could not record what became of ${count} job(s): the store did not take the write within ${seconds} s (requestTimeout) or refused it. Their handlers were stopped all the same; once errorTimeout passes without a sign of life, other instances run the anonymous jobs that were waiting and fail the rest.`;

export const takenOverMessage = (jobId: string) =>
  `BackJob took over job ${jobId}: it was waiting in an instance that stopped, and it runs anonymously, so this instance runs it.`;

export const heartbeatFailedMessage = (count: number, error: unknown) =>
  `BackJob could not renew the ${count} job(s) waiting in this instance: ${describeError(error)}. It tries again shortly; if the store stays away longer than errorTimeout, other instances may take them over or fail them.`;

export const jobAbortedMessage = (jobId: string, why: string) =>
  `Job ${jobId} ended while its action ran (${why}). Stop the action: its later progress and output are ignored.`;

export const endedElsewhereReason = () => 'ended by another request';
export const monitorStoppedReason = () =>
  'the monitor of the job stopped before the worker request was answered';

export const noAnswerMessage = (seconds: number) =>
  `no answer in ${seconds} s (requestTimeout)`;

export const unsupportedPlatformMessage = (type: string) =>
  `BackJob runs on Express and Fastify, and this app's HTTP adapter is "${type}". Create the app with @nestjs/platform-express or @nestjs/platform-fastify.`;

export const noHttpServerMessage = () =>
  'BackJob cannot send its internal request: the app has no HTTP server. Start jobs in an app made with NestFactory.create(), not createApplicationContext(), or set the baseUrl option.';

export const dataSourceNotConnectedMessage = () =>
  "BackJob's data source is not connected: initialize it (DataSource.initialize(), which TypeOrmModule does at start) and keep it open while the app runs.";

export const monitorUnreachableMessage = (url: string, why: string) =>
  `The job's monitor request to ${url} failed: ${why}. Check that the app can reach itself at that address, or set BackJob's baseUrl option.`;

export const monitorRefusedMessage = (url: string, answer: string) =>
  `The job's monitor request to ${url} was not accepted: ${answer}. Check that the route exists and that its guards and middleware accept the caller (withUserCookies: false runs it anonymously).`;

export const answeredMessage = (status: number, body: string) => {
  const shown = nestErrorAnswerText(body) ?? body.slice(0, 2000);
  return `it was answered ${status}${shown ? `: ${shown}` : ''}${status === 431 ? TOO_LARGE_HINT : ''}`;
};

const TOO_LARGE_HINT =
  ". The request's route, query and forwarded headers are more than the server takes (Node's limit is 16 KB in all): pass an id and let the action load the data, send it in a body, or raise the server's maxHeaderSize";

/**
 * Nest's answer to an error (`{ statusCode, message, error? }`, from a
 * guard, a pipe, an exception) as the sentence its exception would give:
 * "Bad Request: name should not be empty; email must be an email".
 */
function nestErrorAnswerText(body: string): string | undefined {
  if (!body.startsWith('{')) return undefined;
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (
    !answer ||
    typeof answer !== 'object' ||
    typeof (answer as { statusCode?: unknown }).statusCode !== 'number'
  )
    return undefined;
  const { title, detail } = errorResponseParts(answer);
  return detail ? joinTitle(title, detail) : undefined;
}

export const workerFailedMessage = (
  url: string,
  status: number,
  body: string,
) => `The worker request to ${url} failed: ${answeredMessage(status, body)}`;

export const monitorEndedMessage = (jobId: string, reason: string) =>
  `Job ${jobId} failed before its handler ended it: ${reason}`;

export const workerUnreachableMessage = (url: string, why: string) =>
  `The worker request to ${url} failed: ${why}`;

export const unknownKeyLogMessage = (keyId: string) =>
  `BackJob refused an internal request signed with key ${keyId}, which this instance does not have. Give every instance the same key option; while keys rotate, list the other one in previousKeys.`;

export const unknownKeysQuietMessage = (count: number, seconds: number) =>
  `BackJob refused ${count} internal requests signed with keys it does not have within ${seconds} s; it logs no more of them until ${seconds} s have passed, then says how many there were. Many of them from outside mean someone sends forged tokens: nothing runs for them.`;

export const unknownKeysUnloggedMessage = (count: number) =>
  `BackJob refused ${count} more internal request${count === 1 ? '' : 's'} signed with keys it does not have, not logged one by one.`;

export const unknownKeyRefusal = () =>
  'This internal request is signed with a key this instance does not have.';

export const unsharedKeyReason = (
  phase: 'monitor' | 'worker' | 'ping',
  url: string,
  keyId: string,
) => {
  const request = phase === 'ping' ? 'self-check' : phase;
  return `The ${request} request to ${url} was refused: the instance that received the ${request} request does not share this key (key id ${keyId}). Give every instance the same key option; while keys rotate, list the other one in previousKeys.`;
};

export const droppedHeaderMessage = (jobId: string, name: string) =>
  `BackJob did not forward the caller's ${name} header to job ${jobId}: its value has a character an HTTP header cannot carry (CR, LF or beyond latin1), so the job runs without it. Check what sets that header; if the job needs it, pass the value in the job's query or body instead.`;

export const workerOnlyMessage = () =>
  'This action runs only as a background job. Start it with BackJobService.start().';

export const alreadyClaimedMessage = () =>
  'This job was already picked up by another worker request; it runs only once.';

export const unserialisableResultMessage = (why: string) =>
  `the result could not be serialised: ${why}. Return a string, or a value JSON.stringify can encode (no cycles, BigInt as a string).`;

export const storeWriteFailedMessage = (jobId: string, error: unknown) =>
  `BackJob could not store the progress of job ${jobId}: ${describeError(error)}. The next update or the final status will try again.`;

export const longTextRefusedMessage = (jobId: string, error: unknown) =>
  `BackJob's store refused the final text of job ${jobId}: ${describeError(error)}. It stores the head and the tail of the text instead. Lower maxOutputBytes below the database's limit (MariaDB's max_allowed_packet) to keep all of it.`;

export const longTextRefusedReason = (error: unknown) =>
  `the store refused the whole output (${describeError(error)}), so only its head and tail are kept; lower maxOutputBytes below the database's limit`;

export const finalWriteFailedMessage = (jobId: string, error: unknown) =>
  `BackJob could not store the final status of job ${jobId}: ${describeError(error)}. Its monitor or the timeout sweep will end it.`;

export const finalWriteRetryingMessage = (
  jobId: string,
  error: unknown,
  errorTimeout: number,
) =>
  `BackJob could not store the final status of job ${jobId} yet: ${describeError(error)}. It keeps trying every 2 s for up to errorTimeout (${errorTimeout} s) from its first attempt, so that a database failover does not lose what the job did.`;

export const claimFailedMessage = (jobId: string, error: unknown) =>
  `BackJob could not claim job ${jobId} for its worker request: ${describeError(error)}. Its monitor fails it with this answer.`;

export const endNotStoredMessage = (jobId: string, error: unknown) =>
  `BackJob could not store the final status of job ${jobId}: ${describeError(error)}. Its monitor ends it from the worker's answer, or the sweep does after errorTimeout.`;

export const monitorCrashedMessage = (jobId: string, error: unknown) =>
  `BackJob's monitor of job ${jobId} stopped on an error: ${describeError(error)}`;

export const watchdogCheckFailedMessage = (
  jobId: string,
  error: unknown,
  everyMs: number,
) =>
  `BackJob could not read job ${jobId} to watch over it: ${describeError(error)}. It tries again every ${everyMs / 1000} s, and says so again only after a read succeeded; the job goes on meanwhile.`;

export const watchReadFailedMessage = (
  jobId: string,
  error: unknown,
  retryMs: number,
) =>
  `BackJob could not read job ${jobId} for its watchers: ${describeError(error)}. It tries again every ${retryMs / 1000} s, and says so again only after a read succeeded; its watchers keep their stream and get the job's next change once the store answers.`;

export const selfCheckFailedMessage = (url: string, why: string) =>
  `BackJob cannot reach this app at ${url}: ${why}. Background jobs will fail until it can. Set the baseUrl option to an address where the app reaches itself.`;

export const missingSchedulerMessage = () =>
  'BackJob needs ScheduleModule.forRoot() from @nestjs/schedule in your AppModule, for its timeout sweep and backlog cleanup. Import it once in the app.';

export const missingTableMessage = (tableName: string) =>
  `BackJob's table ${tableName} does not exist and checkAndCreateTable is off, so every job will fail. Run BackJobMigrations (add them to your data source's migrations) or set checkAndCreateTable: true.`;

export const sqliteWithoutWalMessage = () =>
  "BackJob runs on SQLite in rollback-journal mode, TypeORM's default: every job write then costs about 1 ms and readers block writers. Add enableWAL: true and prepareDatabase: (db) => db.pragma('busy_timeout = 5000') to TypeOrmModule.forRoot().";

export const missingCacheMessage = (token: string) =>
  `BackJob's useCache is on, but nothing is provided under ${token}. Import CacheModule.register() (from @nestjs/cache-manager) with isGlobal: true, or set cacheToken.`;

export const notACacheMessage = (token: string) =>
  `BackJob's useCache is on, but what is provided under ${token} is not a cache (it has no get, set and del). Provide a cache-manager cache there, as CacheModule.register() from @nestjs/cache-manager does, or set cacheToken to the token of one.`;

export const cacheUnavailableWarning = (error: unknown, retrySeconds: number) =>
  `BackJob's cache failed: ${describeError(error)}. Jobs are read from and written to the database alone until it answers again (it is tried every ${retrySeconds} s). Check that the cache server, e.g. Redis, is running and reachable, or raise cacheTimeout if it is only slow.`;

export const cacheRecoveredMessage = () =>
  "BackJob's cache answers again. The entries of jobs written while it was away were dropped, so they are read from the database once.";

export const cacheTimeoutReason = (ms: number) =>
  `it did not answer within ${ms} ms (cacheTimeout)`;

export const sweepFailedMessage = (error: unknown, everySeconds: number) =>
  `BackJob's timeout sweep failed: ${describeError(error)}. It runs again in ${everySeconds} s.`;

export const cleanupFailedMessage = (error: unknown) =>
  `BackJob's backlog cleanup failed: ${describeError(error)}. It runs again on its schedule.`;

// Live progress (watch(), BackJobLiveModule).

/** Text a caller sent, quoted, and cut: an answer need not repeat 10 KB of it. */
const quoted = (text: string) =>
  JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

export const jobNotFoundMessage = (id: string) =>
  `There is no job ${quoted(String(id))}: it never existed, or it ended and the backlog cleanup deleted it. Use the id that start() returned.`;

export const watchDeniedMessage = () =>
  'You may not watch this job: canWatch() of BackJobLiveModule refused it.';

export const watchStoppedMessage = (id: string) =>
  `Stopped watching job ${id}: the application is shutting down. Watch it again on a running instance; it sends the current state first.`;

export const redisChannelUnavailableMessage = (
  error: unknown,
  pollMs: number,
) =>
  `BackJob cannot subscribe to Redis for job changes: ${describeError(error)}. watch() falls back to reading the store every ${pollMs} ms (watchPollInterval) for changes made by other instances.`;

export const redisChannelErrorMessage = (error: unknown) =>
  `BackJob's Redis channel for job changes failed: ${describeError(error)}. Watchers in other instances see changes late (at the latest when a job would count as stalled) until Redis is back.`;

export const noAnswerWithinMessage = (ms: number) =>
  `Redis did not answer within ${ms} ms`;

export const missingCanWatchMessage = () =>
  'BackJobLiveModule needs a canWatch(job, request) function that tells who may watch which job, for example (job, request) => job.scope === request.user?.id. Return true to let anyone who knows a job id watch it.';

export const invalidLivePathMessage = (path: unknown) =>
  `BackJobLiveModule's path ${JSON.stringify(path)} is not a route path. Give one such as 'jobs' or 'api/jobs'.`;

export const invalidLiveHookMessage = (name: string, value: unknown) =>
  `BackJobLiveModule's ${name} must be a function, not ${typeof value}. Pass a function, or leave it out.`;

export const invalidDashboardOptionMessage = (value: unknown) =>
  `BackJobLiveModule's dashboard option must be true or false, not ${inspect(value)}. Set dashboard: true to serve the page at <path>/dashboard.`;

// The dashboard (BackJobLiveModule with dashboard: true). Its answers are read
// by whoever uses the page, and by the developer who set it up.

export const manageDeniedMessage = (action: 'cancel' | 'retry') =>
  `You may not ${action === 'cancel' ? 'cancel this job' : 'run this job again'}: canManage() of BackJobLiveModule refused it.`;

export const noCanManageMessage = () =>
  'Nobody may cancel jobs or run them again from this dashboard: BackJobLiveModule has no canManage(job, request, action) hook. Add one to its options that says who may, e.g. (job, request) => request.user?.isAdmin === true.';

export const countsDeniedMessage = (scope: string | undefined) =>
  `You may not see the totals of ${scope === undefined ? 'every scope' : `scope ${JSON.stringify(scope)}`}: canCount() of BackJobLiveModule refused them. The jobs listed are those you may watch.`;

export const noCanCountMessage = () =>
  'This dashboard shows no totals: BackJobLiveModule has no canCount(scope, request) hook. Add one that says who may see how many jobs a scope has, e.g. (scope, request) => scope === request.user?.id.';

export const missingDashboardHeaderMessage = (header: string) =>
  `This request changes a job, so it must carry the ${header} header that the dashboard's page sends: a form on another site cannot send it (a guard against cross-site requests). Send the request from the dashboard, or add the header.`;

export const invalidDashboardStatusMessage = (value: string, valid: string) =>
  `The status filter ${quoted(value)} is not a job status. Use one or more of ${valid}, separated by commas (e.g. status=1,2), or leave it out for every status.`;

export const invalidDashboardParameterMessage = (name: string) =>
  `The ${name} parameter was given more than once. Give it once, or leave it out.`;

export const unknownDashboardParametersMessage = (
  names: string[],
  known: readonly string[],
) =>
  `The dashboard does not know the parameter${names.length > 1 ? 's' : ''} ${names.map(quoted).join(', ')}. It reads ${known.join(', ')}, each given once as name=value (no brackets).`;

export const jobAlreadyEndedMessage = (id: string) =>
  `Job ${id} had already ended, so there was nothing to cancel. Reload the list to see how it ended.`;

export const dashboardCancelReason = () => 'from the dashboard';

// How far describeError follows causes and looks into thrown objects, and
// how long its text may get: a reason is a line of a job's text or of a log.
const MAX_CAUSES = 5;
const INSPECT_DEPTH = 2;
const VALUE_INSPECTION = {
  depth: INSPECT_DEPTH,
  breakLength: Infinity,
  maxArrayLength: 10,
  maxStringLength: 500,
};
const MAX_REASON_LENGTH = 2000;

/** A value that is no text, as a log shows it: `42`, `{ rows: 3 }`. */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? value : inspect(value, VALUE_INSPECTION);
}

export const invalidProgressMessage = (
  jobId: string,
  progress: unknown,
  kept: number,
) =>
  `job ${jobId}: update() takes the progress as a number from 0 to 100, not ${typeof progress === 'string' ? JSON.stringify(progress) : describeValue(progress)}; the progress stays at ${kept}. Pass a number, e.g. update(40).`;

/**
 * Any thrown value as a readable reason: an Error's message (with its
 * `code`, its causes and, for an AggregateError, each of its errors), a
 * string as it is, anything else inspected a few levels deep. Never an
 * Error's other properties: a driver error carries the statement's
 * parameters (the job's data), which must not reach a log.
 */
export function describeError(error: unknown): string {
  const text = describeThrown(error, 0);
  return text.length > MAX_REASON_LENGTH
    ? `${text.slice(0, MAX_REASON_LENGTH)}…`
    : text;
}

function describeThrown(error: unknown, depth: number): string {
  if (typeof error === 'string') return error || 'an empty string';
  if (error === undefined || error === null)
    return `${String(error)} (a throw without an error)`;
  if (!(error instanceof Error)) return inspect(error, VALUE_INSPECTION);
  let text = httpExceptionText(error) ?? (error.message || error.name);
  const code = (error as { code?: unknown }).code;
  if (
    (typeof code === 'string' || typeof code === 'number') &&
    !text.includes(String(code))
  )
    text += ` (${code})`;
  if (error instanceof AggregateError && depth < MAX_CAUSES)
    text += `: ${error.errors.map((e: unknown) => describeThrown(e, depth + 1)).join('; ')}`;
  if (error.cause !== undefined)
    text +=
      depth < MAX_CAUSES
        ? `, caused by: ${describeThrown(error.cause, depth + 1)}`
        : ', caused by more errors';
  return text;
}

/**
 * An HttpException's own answer when it says more than its message: a
 * ValidationPipe's field messages live in getResponse().message, while the
 * exception's message is only "Bad Request Exception". Read by shape, so
 * that another copy of @nestjs/common is read too.
 */
function httpExceptionText(error: Error): string | undefined {
  const { getResponse, getStatus } = error as {
    getResponse?: unknown;
    getStatus?: unknown;
  };
  if (typeof getResponse !== 'function' || typeof getStatus !== 'function')
    return undefined;
  const response: unknown = getResponse.call(error);
  if (!response || typeof response !== 'object') return undefined;
  const { title, detail } = errorResponseParts(response);
  if (!detail || detail === error.message) return undefined;
  return joinTitle(title, detail);
}

/** The `message` (one or many) and `error` of an HttpException's response, or of Nest's answer. */
function errorResponseParts(response: object): {
  title?: string;
  detail?: string;
} {
  const { message, error: title } = response as {
    message?: unknown;
    error?: unknown;
  };
  const detail = Array.isArray(message)
    ? message.map(String).join('; ')
    : typeof message === 'string'
      ? message
      : undefined;
  return { title: typeof title === 'string' ? title : undefined, detail };
}

const joinTitle = (title: string | undefined, detail: string) =>
  title ? `${title}: ${detail}` : detail;
export const jobStoreUnavailableMessage = (error: unknown) =>
  `BackJob could not reach its cache, the only place it keeps jobs (useDb: false): ${describeError(error)}. Check that the cache server, e.g. Redis, is running and reachable from this instance, or raise cacheTimeout if it is only slow.`;

export const storeUnavailableAnswerMessage = () =>
  'Jobs cannot be started or read right now: their store is not answering. Try again in a little while.';

export const jobNotRecordedMessage = (seconds: number) =>
  `BackJob's database did not record the job within ${seconds} s (requestTimeout), so start() gave up: the job will not run, and if its record lands later it is ended at once. Check that the database is running and answering, then start the job again.`;

export const jobNotRecordedErrorMessage = (error: unknown) =>
  `BackJob's database could not record the job: ${describeError(error)}. The job will not run: check that the database is running and reachable from this instance, and that BackJob's table exists (its migrations ran), then start the job again.`;

export const readFailedMessage = (error: unknown) =>
  `BackJob's database could not read its jobs: ${describeError(error)}. Check that the database is running and reachable from this instance, and that BackJob's table exists (its migrations ran), then call again.`;

export const readTimeoutMessage = (seconds: number) =>
  `BackJob's database did not answer a read of its jobs within ${seconds} s (requestTimeout), so the call gave up. Check that the database is running and answering, then call again.`;

export const endingNotRecordedMessage = (seconds: number) =>
  `BackJob's database did not record the job's ending within ${seconds} s (requestTimeout), so the call gave up. The ending may still land once the database answers: read the job to know, and call again if it is still pending.`;

export const endingFailedMessage = (error: unknown) =>
  `BackJob's database could not record the job's ending: ${describeError(error)}. The job is as it was: check that the database is running and reachable from this instance, then call again.`;

export const databaseTimeoutReason = (seconds: number) =>
  `the database did not answer within ${seconds} s (requestTimeout)`;

export const jobStoreUnavailableWarning = (error: unknown) =>
  `BackJob's cache, where it keeps jobs (useDb: false), failed: ${describeError(error)}. Until it answers again, starting and reading jobs fails with JobStoreUnavailableError. Check that the cache server, e.g. Redis, is running and reachable, or raise cacheTimeout if it is only slow.`;

export const jobStoreRecoveredMessage = () =>
  "BackJob's cache answers again; jobs are started and read as before.";

// ---------------------------------------------------------------------------
// The product API: list(), retry(), events and their listeners.

export const invalidListLimitMessage = (limit: unknown, max: number) =>
  `list() got limit ${inspect(limit)}: give a whole number from 1 to ${max}, or leave it out for the default.`;

export const invalidListStatusMessage = (status: unknown) =>
  `list() got status ${inspect(status)}: give a JobStatus (e.g. JobStatus.Failed) or a list of them.`;

export const invalidListScopeMessage = (scope: unknown) =>
  `${inspect(scope)} is not a scope: give the string that start() was given as scope, or leave it out for every scope.`;

export const nulListScopeMessage = () =>
  `A scope with a NUL character (\\0) is not a scope: start() refuses one, so no job has it. Give the string that start() was given as scope.`;

export const invalidListCursorMessage = () =>
  'list() got a cursor it did not make: pass the cursor of the previous page as it was, or leave it out for the first page.';

export const jobStillPendingMessage = (id: string, status: string) =>
  `Job ${id} is still pending (${status}): only a job that ended can run again. Wait for it to end, or cancel() it first.`;

export const unstorableResultMessage = (bytes: number, max: number) =>
  `the result (${bytes} bytes as JSON) was not stored: it is larger than maxOutputBytes (${max}). Store large results elsewhere (a file, a table) and return where they are.`;

export const invalidListenerStatusMessage = (
  listener: string,
  status: unknown,
) =>
  `@OnJobEnd() on ${listener} names status ${inspect(status)}, which no job has: give JobStatus values (e.g. JobStatus.Failed), or leave status out to hear every ending.`;

export const invalidListenerScopeMessage = (listener: string, scope: unknown) =>
  `@OnJobEnd() on ${listener} names scope ${inspect(scope)}: give the string that start() was given as scope, or leave it out to hear every scope.`;

export const jobEndListenerFailedMessage = (
  listener: string,
  jobId: string,
  error: unknown,
) =>
  `BackJob's @OnJobEnd() listener ${listener} failed for job ${jobId}: ${describeError(error)}. The job's status is unchanged; catch the error in the listener to handle it yourself.`;

// Debug traces: one job followed from start to end (set the log level to debug).

export const jobRecordedTrace = (
  jobId: string,
  request: { method: string; path: string },
  retryOf: string | null,
) =>
  `job ${jobId}: recorded, ${request.method} ${request.path}${retryOf ? `, a retry of job ${retryOf}` : ''}`;

export const jobMergedTrace = (jobId: string) =>
  `job ${jobId}: an identical request merged into it`;

export const workerRequestTrace = (jobId: string, url: string) =>
  `job ${jobId}: worker request sent to ${url}`;

export const jobClaimedTrace = (jobId: string) =>
  `job ${jobId}: claimed by its worker request, the handler runs`;

export const jobEndedTrace = (jobId: string, status: string) =>
  `job ${jobId}: ended ${status}`;

/** A log line about one job that does not already name it. */
export const forJob = (jobId: string, text: string) => `job ${jobId}: ${text}`;

export const endedJobUnreadableMessage = (jobId: string, error: unknown) =>
  `BackJob could not read job ${jobId} after it ended, so events() and @OnJobEnd() listeners do not hear of it: ${describeError(error)}. list({ status }) finds it later.`;
