import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** The value below which `p` % of `values` lie (nearest rank); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** Median, lowest and highest of the rounds' values of one figure. */
export function spread(values: readonly number[]): {
  median: number;
  min: number;
  max: number;
} {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? sorted[middle]
      : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds `run` took. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await run();
  return performance.now() - began;
}

/**
 * Resolves once `condition` holds, checking every `everyMs`; rejects with
 * `describe()` after `timeoutMs`, so that a stuck run says what it waited for.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  describe: () => string | Promise<string>,
  timeoutMs = 60_000,
  everyMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms: ${await describe()}`);
    await sleep(everyMs);
  }
}

/** Whether `condition` comes to hold within `timeoutMs`, checking every `everyMs`. */
export async function holdsWithin(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 5,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/** Forces a full collection (children run with --expose-gc), twice to catch weak references. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('Run the bench child with --expose-gc.');
  gc();
  gc();
}

/**
 * Sockets open in this process, both ends of a loopback connection counted.
 * From /proc on Linux: Node's own list of active handles leaves out the
 * sockets that are unref()'d, which idle keep-alive sockets are.
 */
export function openSockets(): number {
  if (existsSync('/proc/self/fd'))
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false; // closed while we looked
      }
    }).length;
  return process
    .getActiveResourcesInfo()
    .filter((resource) => resource === 'TCPSocketWrap').length;
}
