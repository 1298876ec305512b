import * as messages from '../backjob.messages.js';
import { JobFailedException } from '../errors/job-failed.exception.js';

/**
 * What a handler produces, as the text of its job's output. What it writes
 * to the response is teed by the platform seam (`HttpPlatform.captureWrites`);
 * what it returns is captured by the worker.
 */

/**
 * A handler's return value as the job's output: strings as they are, values
 * as JSON. A value JSON cannot encode (a cycle, a BigInt) fails the job
 * saying so, rather than ending it with `[object Object]`.
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

/**
 * A handler's value as the JSON of a job's result, or `undefined` for none:
 * nothing returned, `null`, or bytes (a file is output, not a result).
 * Throws a sentence for a value JSON cannot encode.
 */
export function resultToJson(value: unknown): string | undefined {
  if (value === undefined || value === null || value instanceof Uint8Array)
    return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      messages.unserialisableResultMessage(messages.describeError(error)),
    );
  }
  return json;
}

/** A chunk handed to `write()` or `end()` as text; callbacks and empty ends are nothing. */
export function chunkToText(chunk: unknown): string {
  if (chunk === undefined || chunk === null) return '';
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  return '';
}
