import type { InjectionToken } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import * as messages from '../backjob.messages.js';
import { BackJobConfigurationError } from '../errors/backjob-configuration.error.js';
import type { JobRecord } from './job-store.js';
import { JobCache, type CacheTtl } from './job-cache.js';
import { KeyvJobCache, type CacheManagerLike } from './keyv-job.cache.js';
import { keyvRedisAdapters } from './keyv-redis.adapters.js';
import {
  RedisJobCache,
  type RedisClientSource,
  type RedisScriptClient,
} from './redis-job.cache.js';
import type { JobStatus } from '../interfaces/job-status.enum.js';

/**
 * The app's cache, found by its injection token (`cacheToken`) at module
 * init: Nest creates the providers of all modules at the same time, so the
 * cache may not exist yet when the store is made. With Redis behind it
 * (`@keyv/redis`), jobs go through Redis's own client and Lua scripts;
 * with any other store, through cache-manager's get/set.
 */
export class LocatedJobCache extends JobCache {
  private target: JobCache | undefined;

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly token: InjectionToken,
    private readonly prefix: string,
  ) {
    super();
  }

  override prepare(): void {
    this.cache();
  }

  create(job: JobRecord, ttl: CacheTtl) {
    return this.cache().create(job, ttl);
  }

  get(id: string) {
    return this.cache().get(id);
  }

  put(job: JobRecord, ttl: CacheTtl) {
    return this.cache().put(job, ttl);
  }

  transition(
    id: string,
    from: readonly JobStatus[],
    change: Partial<JobRecord>,
    ttl: CacheTtl,
    indexed: boolean,
  ) {
    return this.cache().transition(id, from, change, ttl, indexed);
  }

  stale(cutoff: number, limit: number) {
    return this.cache().stale(cutoff, limit);
  }

  deleteEnded(completedBefore: number | null, allBefore: number | null) {
    return this.cache().deleteEnded(completedBefore, allBefore);
  }

  forget(ids: readonly string[]) {
    return this.cache().forget(ids);
  }

  private cache(): JobCache {
    this.target ??= this.locate();
    return this.target;
  }

  private locate(): JobCache {
    let cache: unknown;
    try {
      cache = this.moduleRef.get(this.token, { strict: false });
    } catch {
      cache = undefined;
    }
    const name = tokenName(this.token);
    if (!cache)
      throw new BackJobConfigurationError(messages.missingCacheMessage(name));
    if (!isCacheManager(cache))
      throw new BackJobConfigurationError(messages.notACacheMessage(name));
    const redis = redisBehind(cache);
    return redis
      ? new RedisJobCache(redis, this.prefix)
      : new KeyvJobCache(cache, this.prefix);
  }
}

function tokenName(token: InjectionToken): string {
  return typeof token === 'function' ? token.name : String(token);
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
 * The `@keyv/redis` adapter among the cache's stores whose client runs
 * scripts, if any. A Redis Cluster is left to get/set, since a script there
 * may only touch keys of one slot.
 */
function redisBehind(cache: object): RedisClientSource | undefined {
  return keyvRedisAdapters(cache).find((adapter) => {
    const client = adapter.client as Partial<RedisScriptClient> | undefined;
    return (
      typeof client?.evalSha === 'function' &&
      typeof client.hGetAll === 'function' &&
      !adapter.isCluster?.()
    );
  }) as RedisClientSource | undefined;
}
