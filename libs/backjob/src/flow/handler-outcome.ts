import { ForbiddenException } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import { BackJobContext } from '../backjob.context.js';
import * as messages from '../backjob.messages.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import { JobFailedResponseException } from './job-failed-response.exception.js';
import type { JobRun } from './job-run.js';

/**
 * Calls a handler marked `@BackgroundWorker()` (`call`). In a worker
 * request, its own value or exception settles the job before Nest builds
 * the answer: the app's interceptors and filters change the response, not
 * the job. Outside one, `workerOnly` refuses the call (403) and otherwise
 * the handler runs as a plain route. The decorator wraps the handler with
 * this rather than adding an interceptor, which would bring Nest's rxjs
 * pipeline to every call of the route. It needs nothing from DI: the
 * worker request's run is in the static context.
 */
export async function callBackgroundHandler(
  workerOnly: boolean,
  call: () => unknown,
): Promise<unknown> {
  const run = BackJobContext.instance.jobRun;
  if (!run) {
    if (workerOnly) throw new ForbiddenException(messages.workerOnlyMessage());
    return call();
  }
  // A marked handler that calls another (a subclass's super call): the
  // outer one settles.
  if (run.settlesInHandler) return call();
  run.settlesInHandler = true;
  let value: unknown;
  try {
    value = await lastOf(call());
  } catch (error) {
    const answer = expectedEndingAnswer(run, error) ?? error;
    await run.settleFailure(error).catch(() => undefined);
    throw answer;
  }
  await run.settleResult(value);
  return value;
}

/** What a handler gave: its promise's value, or an Observable's last one. */
async function lastOf(result: unknown): Promise<unknown> {
  if (isObservable(result))
    return lastValueFrom(result, { defaultValue: undefined });
  return result;
}

/**
 * `fail()` and a stop on the job's aborted signal are expected endings, not
 * crashes: they are answered without an error log.
 */
function expectedEndingAnswer(
  run: JobRun,
  error: unknown,
): JobFailedResponseException | undefined {
  if (error instanceof JobFailedException)
    return new JobFailedResponseException(error.text);
  if (run.abortedWith)
    return new JobFailedResponseException(
      messages.describeError(run.abortedWith),
    );
  return undefined;
}
