import type { DynamicModule, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import {
  getDataSourceToken,
  getRepositoryToken,
  TypeOrmModule,
} from '@nestjs/typeorm';
import type { DataSource, Repository } from 'typeorm';
import { BackJobContext } from './backjob.context.js';
import {
  BACKJOB_JOB_REPOSITORY,
  BACKJOB_JOB_STORE,
  BACKJOB_MODULE_OPTIONS,
  BACKJOB_RESOLVED_OPTIONS,
} from './backjob.constants.js';
import {
  BACKJOB_DEFAULTS,
  resolveBackJobOptions,
  type ResolvedBackJobOptions,
} from './backjob.options.js';
import { BackJobService } from './backjob.service.js';
import {
  jobEntityFor,
  type BackgroundJobEntity,
} from './entities/background-job.entity.js';
import { JobEndExplorer } from './endings/job-end.explorer.js';
import { JobEndStream } from './endings/job-end.stream.js';
import { InstanceState } from './flow/instance-state.js';
import { JobDrain } from './flow/job-drain.js';
import { JobLauncher } from './flow/job-launcher.js';
import { JobMonitor } from './flow/job-monitor.js';
import { JobQueue } from './flow/job-queue.js';
import { JobWorker } from './flow/job-worker.js';
import { RunningJobs } from './flow/running-jobs.js';
import { RequestSigner } from './flow/request-signer.js';
import { InternalRequestHandler } from './flow/internal-request.handler.js';
import { SelfCheckService } from './flow/self-check.service.js';
import { SelfHttpClient } from './flow/self-http.client.js';
import { HttpPlatform } from './platform/http-platform.js';
import type {
  BackJobModuleExtras,
  BackJobModuleOptions,
} from './interfaces/backjob-options.interface.js';
import { JobChangeRelay } from './feed/job-change.relay.js';
import { JobFeedService } from './feed/job-feed.service.js';
import { JobMaintenanceService } from './maintenance/job-maintenance.service.js';
import { CacheLocator } from './storage/cache-locator.js';
import { createJobStore } from './storage/job-store.factory.js';
import { JobTableInitializer } from './storage/job-table.initializer.js';
import { JobTracker } from './storage/job-tracker.js';

/**
 * Completes the module definition that `ConfigurableModuleBuilder` made from
 * `forRoot()`/`forRootAsync()`: the extras decide the storage providers and
 * the TypeORM entity before any options factory runs.
 */
export function defineBackJobModule(
  definition: DynamicModule,
  extras: BackJobModuleExtras,
): DynamicModule {
  const storage = extras.useDb === false ? [] : databaseProviders(extras);
  return {
    ...definition,
    global: extras.isGlobal ?? BACKJOB_DEFAULTS.isGlobal,
    imports: [
      ...(definition.imports ?? []),
      DiscoveryModule,
      ...storage.flatMap((part) => part.imports),
    ],
    providers: [
      ...(definition.providers ?? []),
      ...coreProviders(extras),
      ...storage.flatMap((part) => part.providers),
    ],
    exports: [BackJobService, BackJobContext, BACKJOB_RESOLVED_OPTIONS],
  };
}

function coreProviders(extras: BackJobModuleExtras): Provider[] {
  return [
    {
      provide: BACKJOB_RESOLVED_OPTIONS,
      useFactory: (options: BackJobModuleOptions) =>
        resolveBackJobOptions(options, extras),
      inject: [BACKJOB_MODULE_OPTIONS],
    },
    {
      provide: RequestSigner,
      useFactory: (options: ResolvedBackJobOptions) =>
        new RequestSigner(options.key, options.previousKeys),
      inject: [BACKJOB_RESOLVED_OPTIONS],
    },
    { provide: BackJobContext, useValue: BackJobContext.instance },
    {
      provide: BACKJOB_JOB_STORE,
      useFactory: (
        options: ResolvedBackJobOptions,
        locator: CacheLocator,
        repository?: Repository<BackgroundJobEntity>,
      ) => createJobStore(options, locator, repository),
      inject: [
        BACKJOB_RESOLVED_OPTIONS,
        CacheLocator,
        { token: BACKJOB_JOB_REPOSITORY, optional: true },
      ],
    },
    CacheLocator,
    JobTracker,
    JobEndStream,
    JobEndExplorer,
    HttpPlatform,
    SelfHttpClient,
    InstanceState,
    JobLauncher,
    JobQueue,
    JobMonitor,
    RunningJobs,
    JobWorker,
    JobDrain,
    JobMaintenanceService,
    JobChangeRelay,
    JobFeedService,
    SelfCheckService,
    InternalRequestHandler,
    BackJobService,
  ];
}

function databaseProviders(extras: BackJobModuleExtras) {
  const tableName = extras.tableName ?? BACKJOB_DEFAULTS.tableName;
  const entity = jobEntityFor(tableName);
  return [
    {
      imports: [TypeOrmModule.forFeature([entity], extras.dataSource)],
      providers: [
        {
          provide: BACKJOB_JOB_REPOSITORY,
          useExisting: getRepositoryToken(entity, extras.dataSource),
        },
        {
          provide: JobTableInitializer,
          useFactory: (
            dataSource: DataSource,
            options: ResolvedBackJobOptions,
          ) =>
            new JobTableInitializer(
              dataSource,
              tableName,
              options.checkAndCreateTable,
            ),
          inject: [
            getDataSourceToken(extras.dataSource),
            BACKJOB_RESOLVED_OPTIONS,
          ],
        },
      ] as Provider[],
    },
  ];
}
