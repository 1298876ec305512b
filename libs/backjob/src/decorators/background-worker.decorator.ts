import { applyDecorators, SetMetadata } from '@nestjs/common';
import { BACKGROUND_WORKER_METADATA } from '../backjob.constants.js';

/**
 * Marks a handler (or every handler of a controller) as a background action:
 * it runs only inside a verified worker request started by
 * `BackJobService.start()`; any other call gets 403 and the handler does not
 * run. Its output and return value become the job's `statusText`, and an
 * exception fails the job.
 */
export function BackgroundWorker(): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(BACKGROUND_WORKER_METADATA, true));
}
