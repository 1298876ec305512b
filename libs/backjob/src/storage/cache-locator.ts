import {
  Inject,
  Injectable,
  type InjectionToken,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { BACKJOB_RESOLVED_OPTIONS } from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import { BackJobConfigurationError } from '../errors/backjob-configuration.error.js';
import type { CacheManagerLike } from './keyv-job.store.js';
import {
  keyvRedisAdapters,
  type KeyvRedisAdapter,
} from './keyv-redis.adapters.js';
import type {
  RedisClientSource,
  RedisScriptClient,
} from './redis-job.store.js';

/** The app's cache, and what runs behind it. */
export interface LocatedCache {
  cache: CacheManagerLike;
  /** Its `@keyv/redis` adapters, whose clients also publish and subscribe. */
  redisAdapters: KeyvRedisAdapter[];
  /** The one whose client runs the job scripts, if any. */
  scripts: RedisClientSource | undefined;
}

/**
 * Finds the app's cache by its injection token (`cacheToken`), once, for the
 * store and the change relay. Nest creates the providers of all modules at
 * the same time, so the cache may not exist yet when BackJob's providers are
 * made: it is looked up at module init (or at first use, if that comes
 * first), when every provider of the app exists.
 */
@Injectable()
export class CacheLocator implements OnModuleInit {
  private found: LocatedCache | undefined;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {}

  /** Looks now, so that a missing cache stops the boot. */
  onModuleInit(): void {
    if (this.options.useCache) this.located();
  }

  /** The cache; throws a configuration error when there is none under the token. */
  located(): LocatedCache {
    this.found ??= this.locate(this.options.cacheToken);
    return this.found;
  }

  /**
   * Runs `work`, then closes again the cache's Redis connections that were
   * closed before it and that it opened. A shutdown writes its endings
   * after Nest destroyed the modules, the cache's among them when it comes
   * first, and `@keyv/redis` connects again to write: left open, that
   * connection would keep the process alive after `app.close()`.
   */
  async closingWhatItReopens<T>(work: () => Promise<T>): Promise<T> {
    const closed = this.options.useCache
      ? this.located()
          .redisAdapters.map((adapter) => adapter.client as ClosableClient)
          .filter((client) => client?.isOpen === false)
      : [];
    try {
      return await work();
    } finally {
      await Promise.all(
        closed
          .filter((client) => client.isOpen)
          .map((client) => client.close?.().catch(() => client.destroy?.())),
      );
    }
  }

  private locate(token: InjectionToken): LocatedCache {
    let cache: unknown;
    try {
      cache = this.moduleRef.get(token, { strict: false });
    } catch {
      cache = undefined;
    }
    const name = typeof token === 'function' ? token.name : String(token);
    if (!cache)
      throw new BackJobConfigurationError(messages.missingCacheMessage(name));
    if (!isCacheManager(cache))
      throw new BackJobConfigurationError(messages.notACacheMessage(name));
    const redisAdapters = keyvRedisAdapters(cache);
    return { cache, redisAdapters, scripts: scriptRunner(redisAdapters) };
  }
}

/** What a node-redis client says of its connection, and how it ends it. */
interface ClosableClient {
  readonly isOpen?: boolean;
  close?(): Promise<unknown>;
  destroy?(): unknown;
}

function isCacheManager(value: unknown): value is CacheManagerLike {
  const cache = value as Partial<CacheManagerLike>;
  return (
    typeof cache.get === 'function' &&
    typeof cache.set === 'function' &&
    typeof cache.del === 'function'
  );
}

/**
 * The adapter whose client runs scripts, if any. A Redis Cluster is left to
 * get/set, since a script there may only touch keys of one slot.
 */
function scriptRunner(
  adapters: KeyvRedisAdapter[],
): RedisClientSource | undefined {
  return adapters.find((adapter) => {
    const client = adapter.client as Partial<RedisScriptClient> | undefined;
    return (
      typeof client?.evalSha === 'function' &&
      typeof client.hGetAll === 'function' &&
      !adapter.isCluster?.()
    );
  }) as RedisClientSource | undefined;
}
