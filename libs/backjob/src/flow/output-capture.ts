import type { ServerResponse } from 'node:http';
import * as messages from '../backjob.messages.js';
import { JobFailedException } from '../errors/job-failed.exception.js';
import type { JobRun } from './job-run.js';

/**
 * Tees what a handler writes to the response into the job's output: the
 * NestJS counterpart of the original's output buffering. `res.end()` is only
 * read for handlers that send the response themselves (`@Res()`); otherwise
 * it carries Nest's serialised return value, which is captured as a value.
 */
export function captureResponseWrites(
  response: ServerResponse,
  run: JobRun,
  includeEnd: boolean,
): void {
  const raw = ((response as unknown as { raw?: ServerResponse }).raw ??
    response) as ServerResponse;
  const write = raw.write;
  const end = raw.end;
  raw.write = function (
    this: ServerResponse,
    chunk: unknown,
    ...rest: unknown[]
  ) {
    run.write(chunkToText(chunk));
    return (write as (...args: unknown[]) => boolean).call(
      this,
      chunk,
      ...rest,
    );
  } as ServerResponse['write'];
  if (!includeEnd) return;
  raw.end = function (
    this: ServerResponse,
    chunk?: unknown,
    ...rest: unknown[]
  ) {
    if (typeof chunk !== 'function') run.write(chunkToText(chunk));
    return (end as (...args: unknown[]) => ServerResponse).call(
      this,
      chunk,
      ...rest,
    );
  } as ServerResponse['end'];
}

/**
 * A handler's return value as the job's output: strings as they are, values
 * as JSON. Throws a `JobFailedException` for a value JSON cannot encode (a
 * cycle, a BigInt): the job fails saying so, rather than completing with
 * `[object Object]`.
 */
export function valueToText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  try {
    return JSON.stringify(value) ?? '';
  } catch (error) {
    throw new JobFailedException(
      messages.unserialisableResultMessage(messages.describeError(error)),
    );
  }
}

function chunkToText(chunk: unknown): string {
  if (chunk === undefined || chunk === null) return '';
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  return '';
}
