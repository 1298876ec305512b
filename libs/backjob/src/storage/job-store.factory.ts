import { Logger } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { Repository } from 'typeorm';
import { BACKJOB_LOGGER_CONTEXT } from '../backjob.constants.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import type { BackgroundJobEntity } from '../entities/background-job.entity.js';
import { CacheGuard } from './cache-guard.js';
import { CacheJobStore } from './cache-job.store.js';
import { DatabaseJobStore } from './database-job.store.js';
import { JobCacheExpiry } from './job-cache.expiry.js';
import { LocatedJobCache } from './job-cache.locator.js';
import type { JobStore } from './job-store.js';
import { LayeredJobStore } from './layered-job.store.js';

/**
 * The store the options ask for: the database alone (`useDb`), the database
 * with the cache in front of it (`useDb` and `useCache`), or the cache alone
 * (`useCache`). The options were checked before: at least one is on, and
 * the repository exists whenever `useDb` is.
 */
export function createJobStore(
  options: ResolvedBackJobOptions,
  moduleRef: ModuleRef,
  repository: Repository<BackgroundJobEntity> | undefined,
): JobStore {
  const database = options.useDb ? new DatabaseJobStore(repository!) : null;
  if (!options.useCache) return database!;
  const cache = new LocatedJobCache(
    moduleRef,
    options.cacheToken,
    options.cachePrefix,
  );
  if (!database)
    return new CacheJobStore(cache, JobCacheExpiry.cacheOnly(options));
  const guard = new CacheGuard(
    options.cacheTimeout,
    (ids) => cache.forget(ids),
    new Logger(BACKJOB_LOGGER_CONTEXT),
  );
  return new LayeredJobStore(
    database,
    cache,
    guard,
    JobCacheExpiry.besideDatabase(options),
  );
}
