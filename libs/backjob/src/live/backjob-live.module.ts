import {
  Controller,
  Module,
  type DynamicModule,
  type ModuleMetadata,
  type Provider,
} from '@nestjs/common';
import * as messages from '../backjob.messages.js';
import { BackJobConfigurationError } from '../errors/backjob-configuration.error.js';
import { BACKJOB_LIVE_OPTIONS } from './backjob-live.constants.js';
import type {
  BackJobLiveModuleAsyncOptions,
  BackJobLiveModuleOptions,
  BackJobLiveOptions,
} from './backjob-live-options.interface.js';
import { JobAccessGuard } from './job-access.guard.js';
import { JobLiveController } from './job-live.controller.js';

/**
 * Ready-made routes to follow a job from a browser, at a path of your
 * choice, for the jobs that `canWatch()` allows:
 * `GET <path>/:id` (JSON status) and `GET <path>/:id/events` (Server-Sent
 * Events, the current status first, then every change until it ends).
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
    const { path, ...live } = options;
    return mount(path, [], {
      provide: BACKJOB_LIVE_OPTIONS,
      useValue: checked(live),
    });
  }

  static forRootAsync(options: BackJobLiveModuleAsyncOptions): DynamicModule {
    return mount(options.path, options.imports ?? [], {
      provide: BACKJOB_LIVE_OPTIONS,
      useFactory: async (...args: never[]) =>
        checked(await options.useFactory(...args)),
      inject: options.inject ?? [],
    });
  }
}

function mount(
  path: string,
  imports: NonNullable<ModuleMetadata['imports']>,
  optionsProvider: Provider,
): DynamicModule {
  if (typeof path !== 'string' || path.trim() === '')
    throw new BackJobConfigurationError(messages.invalidLivePathMessage(path));
  // A subclass per mount, so that two mounts keep their own paths.
  class BackJobLiveController extends JobLiveController {}
  Controller(path)(BackJobLiveController);
  return {
    module: BackJobLiveModule,
    imports,
    controllers: [BackJobLiveController],
    providers: [optionsProvider, JobAccessGuard],
  };
}

function checked(options: BackJobLiveOptions): BackJobLiveOptions {
  if (typeof options?.canWatch !== 'function')
    throw new BackJobConfigurationError(messages.missingCanWatchMessage());
  return options;
}
