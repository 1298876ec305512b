import type { LoggerService } from '@nestjs/common';
import { outsideRequests } from '../backjob.context.js';
import * as messages from '../backjob.messages.js';
import { StoreOutage } from './store-outage.js';

// After a failure the cache is left alone for this long, so that an outage
// costs one timeout every two seconds rather than one on every call.
const RETRY_AFTER_MS = 2000;
// Beyond this many, entries written during an outage are left to expire.
const MAX_SUSPECTS = 10_000;

/**
 * `call`, or a rejection with `cacheTimeoutReason` once `timeoutMs` have
 * passed without an answer.
 */
export function withinCacheTimeout<T>(
  call: Promise<T>,
  timeoutMs: number,
): Promise<T> {
  // A call that answers after its timeout has nobody left to tell.
  call.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(messages.cacheTimeoutReason(timeoutMs))),
      timeoutMs,
    );
  });
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Keeps a cache that is down or hangs from blocking or failing the callers
 * of a store that has the database beside it: every call is bounded by
 * `cacheTimeout`, a failure sends the next ones to the database for a while
 * (with one warning per outage), and the entries of jobs written meanwhile
 * are dropped as soon as the cache answers again, since they may be out of
 * date: on the next call, or by a timer when no call comes (an idle
 * instance would otherwise keep them, and other instances read them).
 */
export class CacheGuard {
  private retryAt = 0;
  private readonly outage = new StoreOutage();
  private readonly suspects = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly forget: (ids: string[]) => Promise<void>,
    private readonly logger: LoggerService,
  ) {}

  /** The cache's answer, or `undefined` when it cannot give one: read the database. */
  async read<T>(call: () => Promise<T>): Promise<T | undefined> {
    return (await this.attempt(call))?.value;
  }

  /** A write of job `id` to the cache; when it fails, that entry is dropped later. */
  async write(id: string, call: () => Promise<unknown>): Promise<void> {
    if (
      (await this.attempt(call)) === null &&
      this.suspects.size < MAX_SUSPECTS
    ) {
      this.suspects.add(id);
      // Armed by the first write that fails, often inside a request, and
      // kept until shutdown.
      this.sweeper ??= outsideRequests(() =>
        setInterval(() => void this.sweep(), RETRY_AFTER_MS),
      );
      // The timer alone never keeps the process alive.
      this.sweeper.unref();
    }
  }

  /** Stops the timer that drops suspect entries: at shutdown. */
  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private async sweep(): Promise<void> {
    if (this.suspects.size > 0)
      await this.attempt(() => Promise.resolve(undefined));
    if (this.suspects.size === 0) this.stop();
  }

  private async attempt<T>(
    call: () => Promise<T>,
  ): Promise<{ value: T } | null> {
    if (Date.now() < this.retryAt) return null;
    try {
      if (this.suspects.size > 0) await this.forgetSuspects();
      const value = await this.bounded(call());
      if (this.outage.ended())
        this.logger.log(messages.cacheRecoveredMessage());
      return { value };
    } catch (error) {
      this.retryAt = Date.now() + RETRY_AFTER_MS;
      this.outage.failed(() =>
        this.logger.warn(
          messages.cacheUnavailableWarning(error, RETRY_AFTER_MS / 1000),
        ),
      );
      return null;
    }
  }

  private async forgetSuspects(): Promise<void> {
    const ids = [...this.suspects];
    await this.bounded(this.forget(ids));
    for (const id of ids) this.suspects.delete(id);
  }

  private bounded<T>(call: Promise<T>): Promise<T> {
    return withinCacheTimeout(call, this.timeoutMs);
  }
}
