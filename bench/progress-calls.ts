import { performance } from 'node:perf_hooks';
import type { BackJobService, JobStatusSnapshot } from 'nestjs-backjob';
import type { Observable } from 'rxjs';
import { holdsWithin, sleep, waitUntil } from './stats.js';

/**
 * The update() calls of one job, each with a text that numbers it (`#i`),
 * so that whoever sees the job — the store, a watcher here or on another
 * instance — can tell which call it reflects.
 */
export interface ProgressCalls {
  /** `performance.now()` when call i was made. */
  calledAt: number[];
  /** How long call i took, in ms. */
  durations: number[];
}

export const callText = (i: number) => `#${i}`;

/** The call a stored or watched text reflects, or -1. */
export function callOf(text: string | undefined): number {
  const match = /^#(\d+)$/.exec(text ?? '');
  return match ? Number(match[1]) : -1;
}

/**
 * Calls `backjob.update()` `perSecond` times a second for `durationMs`,
 * from inside a job: on each timer tick, as many calls as are due, so that
 * the rate holds whatever the timer's granularity.
 */
export function updateAtRate(
  backjob: BackJobService,
  perSecond: number,
  durationMs: number,
): Promise<ProgressCalls> {
  return atRate(perSecond, durationMs, (i, total, calls) =>
    callOnce(backjob, i, total, calls),
  );
}

/**
 * The same calls, each only reading the clock (`Date.now()`, as every
 * `update()` does to stamp its report), timed the same way: the floor under
 * `updateAtRate()`'s durations. On some VMs the first clock read after a
 * timer wake-up now and then takes 100–200 µs, whatever the call does.
 */
export function clockReadsAtRate(
  perSecond: number,
  durationMs: number,
): Promise<ProgressCalls> {
  return atRate(perSecond, durationMs, (_i, _total, calls) => {
    const began = performance.now();
    lastClockRead = Date.now();
    calls.durations.push(performance.now() - began);
    calls.calledAt.push(began);
  });
}

// Where clockReadsAtRate() keeps what it read: a read whose value went
// nowhere could be optimised away.
export let lastClockRead = 0;

async function atRate(
  perSecond: number,
  durationMs: number,
  call: (i: number, total: number, calls: ProgressCalls) => void,
): Promise<ProgressCalls> {
  const total = Math.round((perSecond * durationMs) / 1000);
  const calls: ProgressCalls = { calledAt: [], durations: [] };
  const began = performance.now();
  for (let i = 0; i < total;) {
    const due = Math.min(
      total,
      Math.floor(((performance.now() - began) * perSecond) / 1000) + 1,
    );
    for (; i < due; i++) call(i, total, calls);
    await sleep(1);
  }
  return calls;
}

/** Calls update() `count` times, `gapMs` apart. */
export async function updateSpaced(
  backjob: BackJobService,
  count: number,
  gapMs: number,
): Promise<ProgressCalls> {
  const calls: ProgressCalls = { calledAt: [], durations: [] };
  for (let i = 0; i < count; i++) {
    callOnce(backjob, i, count, calls);
    await sleep(gapMs);
  }
  return calls;
}

function callOnce(
  backjob: BackJobService,
  i: number,
  total: number,
  calls: ProgressCalls,
): void {
  const progress = Math.floor(((i + 1) * 100) / total);
  const began = performance.now();
  backjob.update(progress, callText(i));
  calls.durations.push(performance.now() - began);
  calls.calledAt.push(began);
}

/**
 * For each call, how long until an observer saw it or a later one: the
 * delay of progress as that observer lives it. `seen` holds, in order of
 * time, when the observer saw which call; a call never seen counts until
 * `giveUpAt`.
 */
export function visibilityDelays(
  calledAt: readonly number[],
  seen: readonly { at: number; call: number }[],
  giveUpAt: number,
): number[] {
  const delays: number[] = [];
  let next = 0;
  let latest = -1;
  let latestAt = 0;
  for (let call = 0; call < calledAt.length; call++) {
    // The first sighting of this call or a later one, made after it was called.
    while (latest < call && next < seen.length) {
      if (seen[next].call > latest) {
        latest = seen[next].call;
        latestAt = seen[next].at;
      }
      next++;
    }
    delays.push(
      latest >= call ? latestAt - calledAt[call] : giveUpAt - calledAt[call],
    );
  }
  return delays;
}

/**
 * Watches `snapshots` while a job makes its update() calls (it starts them
 * once `go()` is called, and `finished()` gives them once made): the delay of
 * each call to this watcher, a call never seen counting `giveUpMs` after the
 * last one.
 */
export async function watchedDelays(
  snapshots: Observable<JobStatusSnapshot>,
  go: () => void,
  finished: () => ProgressCalls | undefined,
  giveUpMs: number,
): Promise<number[]> {
  const seen: { at: number; call: number }[] = [];
  const watching = snapshots.subscribe((snapshot) => {
    const call = callOf(snapshot.statusText);
    if (call >= 0) seen.push({ at: performance.now(), call });
  });
  try {
    go();
    await waitUntil(
      () => finished() !== undefined,
      () => 'the job never finished its update() calls',
    );
    const { calledAt } = finished()!;
    const lastCall = calledAt.length - 1;
    const giveUpAt = calledAt[lastCall] + giveUpMs;
    await holdsWithin(
      () => seen.at(-1)?.call === lastCall,
      giveUpAt - performance.now(),
    );
    return visibilityDelays(calledAt, seen, giveUpAt);
  } finally {
    watching.unsubscribe();
  }
}
