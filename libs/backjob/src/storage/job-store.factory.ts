import { Logger } from '@nestjs/common';
import type { Repository } from 'typeorm';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import type { BackgroundJobEntity } from '../entities/background-job.entity.js';
import { CacheGuard } from './cache-guard.js';
import type { CacheJobStore } from './cache-job.store.js';
import { CacheOnlyJobStore } from './cache-only-job.store.js';
import type { CacheLocator, LocatedCache } from './cache-locator.js';
import { JobCacheExpiry } from './job-cache.expiry.js';
import { JobStore } from './job-store.js';
import { KeyvJobStore } from './keyv-job.store.js';
import { LayeredJobStore } from './layered-job.store.js';
import { RedisJobStore } from './redis-job.store.js';
import { SqlJobStore } from './sql-job.store.js';

/**
 * The store the options ask for: the database alone (`useDb`), the database
 * with the cache in front of it (`useDb` and `useCache`), or the cache alone
 * (`useCache`). The options were checked before: at least one is on, and
 * the repository exists whenever `useDb` is.
 */
export function createJobStore(
  options: ResolvedBackJobOptions,
  locator: CacheLocator,
  repository: Repository<BackgroundJobEntity> | undefined,
): JobStore {
  const database = options.useDb
    ? new SqlJobStore(
        repository!.manager.connection,
        repository!.metadata.tableName,
        options.requestTimeout * 1000,
      )
    : null;
  if (!options.useCache) return database!;
  return onceLocated(locator, (located) => {
    if (!database)
      return new CacheOnlyJobStore(
        cacheStore(located, options, JobCacheExpiry.cacheOnly(options)),
        options.cacheTimeout,
        new Logger(BACKJOB_LOGGER_CONTEXT),
      );
    const expiry = JobCacheExpiry.besideDatabase(options);
    const cache = cacheStore(located, options, expiry);
    const guard = new CacheGuard(
      options.cacheTimeout,
      (ids) => cache.forget(ids),
      new Logger(BACKJOB_LOGGER_CONTEXT),
    );
    return new LayeredJobStore(database, cache, guard, expiry);
  });
}

/** Redis's own client and Lua scripts when `@keyv/redis` is behind the cache; cache-manager's get/set otherwise. */
function cacheStore(
  { cache, scripts }: LocatedCache,
  options: ResolvedBackJobOptions,
  expiry: JobCacheExpiry,
): CacheJobStore {
  return scripts
    ? new RedisJobStore(scripts, options.cachePrefix, expiry.pending)
    : new KeyvJobStore(cache, options.cachePrefix, expiry.pending);
}

/**
 * The store that `build` makes from the app's cache, made when it is first
 * used. The store must be provided before the cache can be looked up (see
 * `CacheLocator`), and which store it is depends on the cache; this stands
 * in for it without restating the contract, so it needs no change when the
 * contract does.
 */
function onceLocated(
  locator: CacheLocator,
  build: (located: LocatedCache) => JobStore,
): JobStore {
  let store: JobStore | undefined;
  const target = () => (store ??= build(locator.located()));
  return new Proxy(Object.create(JobStore.prototype) as JobStore, {
    get(stand, property) {
      // What every object has (Nest's discovery reads `constructor` while the
      // app's providers are still being made) is answered without the cache;
      // and Nest awaits what a factory returns: this is not a promise.
      if (property === 'onApplicationShutdown')
        return () => store?.onApplicationShutdown();
      if (property in stand) return Reflect.get(stand, property);
      if (property === 'then') return undefined;
      const value: unknown = Reflect.get(target(), property);
      return typeof value === 'function' ? value.bind(target()) : value;
    },
  });
}
