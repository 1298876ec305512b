import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { filter, map, Observable, Subject } from 'rxjs';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { CacheLocator } from '../storage/cache-locator.js';
import { JobTracker } from '../storage/job-tracker.js';
import {
  EVERY_JOB,
  RedisChangeChannel,
  redisClientOf,
} from './redis-change.channel.js';

/**
 * How watchers learn about changes made by other instances: pushed over
 * Redis publish/subscribe when jobs live in a Redis cache (`useCache` with a
 * @keyv/redis store), which every instance must share anyway; otherwise by
 * reading the store every `watchPollInterval` ms.
 *
 * Redis is not used for a cache the jobs do not live in: nothing says that
 * the instances share it.
 */
@Injectable()
export class JobChangeRelay
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  private channel: RedisChangeChannel | undefined;
  private readonly endedElsewhere = new Subject<string>();

  constructor(
    private readonly locator: CacheLocator,
    private readonly tracker: JobTracker,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.useCache) return;
    try {
      const client = await redisClientOf(this.locator.located().redisAdapters);
      if (!client) return;
      this.channel = await RedisChangeChannel.open(
        client,
        `${this.options.cachePrefix}changes`,
        {
          changes: this.tracker.changes,
          endings: this.tracker.endings.pipe(map((ended) => ended.id)),
        },
        this.logger,
      );
      this.channel.remoteEndings.subscribe((id) =>
        this.endedElsewhere.next(id),
      );
    } catch (error) {
      this.logger.warn(
        messages.redisChannelUnavailableMessage(
          error,
          this.options.watchPollInterval,
        ),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.close();
  }

  /** True when changes from other instances are pushed, not polled. */
  get pushesRemoteChanges(): boolean {
    return this.channel !== undefined;
  }

  /**
   * Ids of jobs that other instances ended, pushed over Redis; nothing
   * without it (polling every job for its end would cost every instance a
   * read per job). Subscribers made before the channel opens get them too.
   */
  get remoteEndings(): Observable<string> {
    return this.endedElsewhere;
  }

  /** Ticks after which job `id` may have changed in another instance. */
  remoteChanges(id: string): Observable<unknown> {
    if (!this.channel) return everyMs(this.options.watchPollInterval);
    return this.channel.remoteChanges.pipe(
      filter((changed) => changed === id || changed === EVERY_JOB),
    );
  }
}

/** rxjs `interval()`, on a timer that does not keep the process alive. */
function everyMs(ms: number): Observable<void> {
  return new Observable<void>((subscriber) => {
    const timer = setInterval(() => subscriber.next(), ms);
    timer.unref();
    return () => clearInterval(timer);
  });
}
