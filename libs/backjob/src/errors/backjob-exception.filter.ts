import {
  BadRequestException,
  Catch,
  ConflictException,
  HttpException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
  type ArgumentsHost,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import { BackJobShutdownError } from './backjob-shutdown.error.js';
import { InvalidJobQueryError } from './invalid-job-query.error.js';
import { InvalidJobRequestError } from './invalid-job-request.error.js';
import { JobNotEndedError } from './job-not-ended.error.js';
import { JobNotFoundError } from './job-not-found.error.js';
import { JobStoreUnavailableError } from './job-store-unavailable.error.js';
import { JobWatchStoppedError } from './job-watch-stopped.error.js';

type ErrorType = abstract new (...args: never[]) => Error;
type AnswerType = new (
  message: string,
  options: { cause: unknown },
) => HttpException;

/**
 * The HTTP answer each error of the module's calls stands for: what the
 * caller sent (400), a job that is not there (404) or not ended (409), an
 * instance or a store that cannot serve now (503, worth a retry).
 */
const ANSWERS: readonly (readonly [ErrorType, AnswerType])[] = [
  [InvalidJobRequestError, BadRequestException],
  [InvalidJobQueryError, BadRequestException],
  [JobNotFoundError, NotFoundException],
  [JobNotEndedError, ConflictException],
  [BackJobShutdownError, ServiceUnavailableException],
  [JobWatchStoppedError, ServiceUnavailableException],
  [JobStoreUnavailableError, ServiceUnavailableException],
];

/**
 * The HttpException that answers `error`, one of the module's errors;
 * undefined for any other. Its message goes to the client as it is, but for
 * a store that is away: the driver's error names hosts and ports, so the
 * client is told only to retry.
 */
export function toHttpException(error: unknown): HttpException | undefined {
  const answer = ANSWERS.find(([type]) => error instanceof type)?.[1];
  if (!answer) return undefined;
  const message =
    error instanceof JobStoreUnavailableError
      ? messages.storeUnavailableAnswerMessage()
      : (error as Error).message;
  return new answer(message, { cause: error });
}

/**
 * Answers the errors that `BackJobService` calls throw in your request
 * handlers with the status they stand for instead of a 500: 400 for a job
 * request or list query that cannot be made (`InvalidJobRequestError`,
 * `InvalidJobQueryError`), 404 for an unknown job, 409 for the result of a
 * job that has not ended, 503 while the instance shuts down or the job
 * store is away. The 503s of a store that is away are logged (error), as
 * Nest logs a 500; every other error goes to Nest's own handling as it is.
 * Not registered by the module: opt in, globally or per controller.
 *
 * @example
 * ```ts
 * // app.module.ts: for every route
 * providers: [{ provide: APP_FILTER, useClass: BackJobExceptionFilter }]
 * // or on one controller
 * @UseFilters(BackJobExceptionFilter)
 * ```
 */
@Catch(...ANSWERS.map(([type]) => type))
export class BackJobExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);

  override catch(error: Error, host: ArgumentsHost): void {
    if (error instanceof JobStoreUnavailableError)
      this.logger.error(error.message, error.stack);
    super.catch(toHttpException(error) ?? error, host);
  }
}
