import type { MessageEvent } from '@nestjs/common';
import {
  catchError,
  map,
  throwError,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import { toHttpException } from '../errors/backjob-exception.filter.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';

/**
 * How long a browser waits before it reconnects a broken event stream, in
 * ms. It is sent the current state first, so a short wait loses nothing.
 */
const RECONNECT_MS = 1000;

/**
 * Turns the snapshots of `watch(id)` into the events of an `@Sse()` handler:
 * one `message` event per snapshot, with the snapshot as JSON in `data`.
 * The stream ends after the final status; close the `EventSource` then, or
 * the browser reconnects and is sent the final status again.
 *
 * An unknown job becomes a 404 (before the stream starts, Nest answers with
 * the status), and a shutdown a 503, which Nest sends as an `error` event
 * without logging it.
 *
 * @example
 * ```ts
 * @Sse(':id/events')
 * events(@Param('id') id: string) {
 *   return this.backjob.watch(id).pipe(toJobEvents());
 * }
 * ```
 */
export function toJobEvents(): OperatorFunction<
  JobStatusSnapshot,
  MessageEvent
> {
  return (snapshots: Observable<JobStatusSnapshot>) =>
    snapshots.pipe(
      map((snapshot, index) =>
        index === 0
          ? { data: snapshot, retry: RECONNECT_MS }
          : { data: snapshot },
      ),
      catchError((error: unknown) =>
        throwError(() => toHttpException(error) ?? error),
      ),
    );
}
