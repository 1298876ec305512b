import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * The worker's answer after `fail()`: an HTTP error (so that the monitor
 * would fail the job even if the failure could not be stored), but one that
 * Nest does not log as a crash.
 */
export class JobFailedResponseException extends HttpException {
  constructor(text: string) {
    super(
      {
        statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
        message: text || 'The job failed.',
      },
      HttpStatus.UNPROCESSABLE_ENTITY,
    );
  }
}
