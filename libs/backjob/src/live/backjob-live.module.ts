import {
  Controller,
  Module,
  type DynamicModule,
  type ModuleMetadata,
  type Provider,
} from '@nestjs/common';
import * as messages from '../backjob.messages.js';
import { BackJobConfigurationError } from '../errors/backjob-configuration.error.js';
import {
  BACKJOB_LIVE_DEFAULTS,
  BACKJOB_LIVE_OPTIONS,
} from './backjob-live.constants.js';
import type {
  BackJobLiveModuleAsyncOptions,
  BackJobLiveModuleOptions,
  BackJobLiveOptions,
} from './backjob-live-options.interface.js';
import { JobDashboardController } from './dashboard/job-dashboard.controller.js';
import { JobAccessGuard } from './job-access.guard.js';
import { JobLiveController } from './job-live.controller.js';

/**
 * Ready-made routes to follow a job from a browser, at a path of your
 * choice, for the jobs that `canWatch()` allows:
 * `GET <path>/:id` (JSON status) and `GET <path>/:id/events` (Server-Sent
 * Events, the current status first, then every change until it ends).
 * With `dashboard: true`, also a page at `GET <path>/dashboard` that lists
 * jobs live, with cancel and run-again buttons (`canManage()`).
 *
 * Written by hand rather than with `ConfigurableModuleBuilder`: the path is
 * required and must be known before any options factory runs.
 *
 * ```ts
 * BackJobLiveModule.forRoot({ path: 'jobs', canWatch: (job, req) => job.scope === req.user?.id })
 * ```
 *
 * Needs `BackJobModule` registered globally (its default).
 */
@Module({})
export class BackJobLiveModule {
  static forRoot(options: BackJobLiveModuleOptions): DynamicModule {
    const { path, dashboard, ...live } = options;
    return mount(path, dashboard, [], {
      provide: BACKJOB_LIVE_OPTIONS,
      useValue: checked(live),
    });
  }

  static forRootAsync(options: BackJobLiveModuleAsyncOptions): DynamicModule {
    return mount(options.path, options.dashboard, options.imports ?? [], {
      provide: BACKJOB_LIVE_OPTIONS,
      useFactory: async (...args: never[]) =>
        checked(await options.useFactory(...args)),
      inject: options.inject ?? [],
    });
  }
}

function mount(
  path: string,
  dashboard: boolean | undefined,
  imports: NonNullable<ModuleMetadata['imports']>,
  optionsProvider: Provider,
): DynamicModule {
  if (typeof path !== 'string' || path.trim() === '')
    throw new BackJobConfigurationError(messages.invalidLivePathMessage(path));
  dashboard ??= BACKJOB_LIVE_DEFAULTS.dashboard;
  if (typeof dashboard !== 'boolean')
    throw new BackJobConfigurationError(
      messages.invalidDashboardOptionMessage(dashboard),
    );
  // A subclass per mount, so that two mounts keep their own paths.
  class BackJobLiveController extends JobLiveController {}
  Controller(path)(BackJobLiveController);
  class BackJobDashboardController extends JobDashboardController {}
  Controller(path)(BackJobDashboardController);
  return {
    module: BackJobLiveModule,
    imports,
    // The dashboard first: Express tries routes in the order they were
    // added, and GET <path>/:id would take GET <path>/dashboard.
    controllers: dashboard
      ? [BackJobDashboardController, BackJobLiveController]
      : [BackJobLiveController],
    providers: [optionsProvider, JobAccessGuard],
  };
}

function checked(options: BackJobLiveOptions): BackJobLiveOptions {
  if (typeof options?.canWatch !== 'function')
    throw new BackJobConfigurationError(messages.missingCanWatchMessage());
  for (const hook of ['canManage', 'canCount'] as const)
    if (options[hook] !== undefined && typeof options[hook] !== 'function')
      throw new BackJobConfigurationError(
        messages.invalidLiveHookMessage(hook, options[hook]),
      );
  return options;
}
