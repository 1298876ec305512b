import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Subscription } from 'rxjs';
import {
  BACKJOB_LOGGER_CONTEXT,
  BACKJOB_RESOLVED_OPTIONS,
} from '../backjob.constants.js';
import * as messages from '../backjob.messages.js';
import type { ResolvedBackJobOptions } from '../backjob.options.js';
import type { JobStatusSnapshot } from '../interfaces/job-status.interface.js';
import { BackJobConfigurationError } from '../errors/backjob-configuration.error.js';
import { ALL_STATUSES, type JobStatus } from '../lifecycle/job-lifecycle.js';
import { JobEndStream } from './job-end.stream.js';
import { ON_JOB_END, type OnJobEndOptions } from './on-job-end.decorator.js';

interface JobEndListener {
  name: string;
  call: (job: JobStatusSnapshot) => unknown;
  hears: (job: JobStatusSnapshot) => boolean;
}

/**
 * Finds the `@OnJobEnd()` methods of the app's providers at boot, as
 * @nestjs/schedule finds its `@Cron()` ones, and calls them for the jobs this
 * instance ends. A listener never delays the job's ending, and what it
 * throws is logged; at shutdown the calls under way get `shutdownGracePeriod`.
 */
@Injectable()
export class JobEndExplorer
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(BACKJOB_LOGGER_CONTEXT);
  private subscription: Subscription | undefined;
  private readonly calls = new Set<Promise<void>>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly endings: JobEndStream,
    @Inject(BACKJOB_RESOLVED_OPTIONS)
    private readonly options: ResolvedBackJobOptions,
  ) {}

  onApplicationBootstrap(): void {
    const listeners = this.findListeners();
    if (listeners.length === 0) return;
    this.subscription = this.endings.local.subscribe((job) => {
      for (const listener of listeners)
        if (listener.hears(job)) this.track(this.callSafely(listener, job));
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    if (this.calls.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.calls),
      new Promise((resolve) => {
        timer = setTimeout(resolve, this.options.shutdownGracePeriod * 1000);
      }),
    ]);
    clearTimeout(timer);
  }

  private findListeners(): JobEndListener[] {
    const listeners: JobEndListener[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const { instance } = wrapper;
      // Request-scoped providers have no instance outside a request.
      if (
        !instance ||
        typeof instance !== 'object' ||
        !wrapper.isDependencyTreeStatic()
      )
        continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = (instance as Record<string, unknown>)[method];
        if (typeof handler !== 'function') continue;
        const options = this.reflector.get<OnJobEndOptions | undefined>(
          ON_JOB_END,
          handler as (...args: unknown[]) => unknown,
        );
        if (options === undefined) continue;
        const name = `${instance.constructor.name}.${method}`;
        checkListenerOptions(name, options);
        listeners.push({
          name,
          call: (job) =>
            (handler as (job: JobStatusSnapshot) => unknown).call(
              instance,
              job,
            ),
          hears: filterOf(options),
        });
      }
    }
    return listeners;
  }

  private async callSafely(
    listener: JobEndListener,
    job: JobStatusSnapshot,
  ): Promise<void> {
    try {
      await listener.call(job);
    } catch (error) {
      this.logger.error(
        messages.jobEndListenerFailedMessage(listener.name, job.id, error),
      );
    }
  }

  private track(call: Promise<void>): void {
    this.calls.add(call);
    void call.finally(() => this.calls.delete(call));
  }
}

/** Stops the boot on a filter that could never match, rather than never calling the listener. */
function checkListenerOptions(name: string, options: OnJobEndOptions): void {
  const statuses =
    options.status === undefined
      ? []
      : ([] as unknown[]).concat(options.status);
  for (const status of statuses)
    if (!ALL_STATUSES.includes(status as JobStatus))
      throw new BackJobConfigurationError(
        messages.invalidListenerStatusMessage(name, status),
      );
  if (options.scope !== undefined && typeof options.scope !== 'string')
    throw new BackJobConfigurationError(
      messages.invalidListenerScopeMessage(name, options.scope),
    );
}

function filterOf(
  options: OnJobEndOptions,
): (job: JobStatusSnapshot) => boolean {
  const statuses =
    options.status === undefined
      ? undefined
      : ([] as JobStatus[]).concat(options.status);
  return (job) =>
    (statuses === undefined || statuses.includes(job.status)) &&
    (options.scope === undefined || options.scope === job.scope);
}
