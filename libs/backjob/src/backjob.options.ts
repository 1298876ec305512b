import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { validateCronExpression } from 'cron';
import { BACKJOB_LOGGER_CONTEXT } from './backjob.constants.js';
import * as messages from './backjob.messages.js';
import { BackJobConfigurationError } from './errors/backjob-configuration.error.js';
import type {
  BackJobModuleExtras,
  BackJobModuleOptions,
} from './interfaces/backjob-options.interface.js';

/** The defaults of every option: the one place they live. */
export const BACKJOB_DEFAULTS = {
  useDb: true,
  useCache: false,
  // The token @nestjs/cache-manager provides, named here so that the package
  // stays optional for apps without a cache.
  cacheToken: 'CACHE_MANAGER',
  cachePrefix: 'backjob:',
  cacheTimeout: 250,
  pendingCacheTtl: 5,
  checkAndCreateTable: true,
  errorTimeout: 60,
  userAgent: 'nestjs-backjob',
  backlogDays: 30,
  allBacklogDays: 60,
  cleanupCron: '0 * * * *',
  maxConcurrentJobs: 20,
  shutdownGracePeriod: 5,
  requestTimeout: 10,
  allowSelfSignedCertificates: false,
  forwardHeaders: [
    'cookie',
    'authorization',
    'x-csrf-token',
    'x-xsrf-token',
    'csrf-token',
  ],
  mergeIdentical: true,
  // body-parser's default limit ('100kb'), which Express and Nest apply.
  maxRequestBytes: 100 * 1024,
  maxOutputBytes: 1024 * 1024,
  previousKeys: [],
  watchPollInterval: 500,
  isGlobal: true,
  tableName: 'e_background_job',
} satisfies Required<Omit<BackJobModuleOptions, DerivedOption>> &
  Required<Omit<BackJobModuleExtras, 'dataSource'>>;

/**
 * Options whose default depends on others: `key` (random), `baseUrl` (the
 * server's address), `monitorRequest` (whether `baseUrl` is set) and
 * `sweepInterval` (half of `errorTimeout`, see the lifecycle rules).
 */
type DerivedOption = 'key' | 'baseUrl' | 'monitorRequest' | 'sweepInterval';

/** Options with every default applied, checked once at boot. */
export type ResolvedBackJobOptions = Required<
  Omit<BackJobModuleOptions, 'baseUrl' | 'sweepInterval'>
> &
  Required<Omit<BackJobModuleExtras, 'dataSource'>> & {
    baseUrl: string | undefined;
    sweepInterval: number | undefined;
    dataSource: string | undefined;
  };

// Room for the head, the tail and the line that says what was cut between them.
const MIN_OUTPUT_BYTES = 1024;

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Applies the defaults and refuses combinations that cannot work. */
export function resolveBackJobOptions(
  options: BackJobModuleOptions,
  extras: BackJobModuleExtras,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedBackJobOptions {
  const defined = <T extends object>(value: T) =>
    Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== undefined),
    ) as Partial<T>;
  const resolved: ResolvedBackJobOptions = {
    ...BACKJOB_DEFAULTS,
    ...defined(options),
    ...defined(extras),
    key: resolveKey(options.key, env),
    baseUrl: options.baseUrl?.replace(/\/+$/, ''),
    monitorRequest: options.monitorRequest ?? options.baseUrl !== undefined,
    sweepInterval: options.sweepInterval,
    dataSource: extras.dataSource,
    forwardHeaders: headerNames(
      options.forwardHeaders ?? BACKJOB_DEFAULTS.forwardHeaders,
    ),
  };
  validate(resolved);
  warnOfUnknownOptions(options);
  return resolved;
}

// Every option's name: those with a default, those derived from others,
// and the module's extras (a forRootAsync() factory may return them too).
const KNOWN_OPTIONS = new Set<string>([
  ...Object.keys(BACKJOB_DEFAULTS),
  ...([
    'key',
    'baseUrl',
    'monitorRequest',
    'sweepInterval',
  ] satisfies DerivedOption[]),
  'dataSource',
]);

function warnOfUnknownOptions(options: BackJobModuleOptions): void {
  const unknown = Object.keys(options).filter(
    (name) => !KNOWN_OPTIONS.has(name),
  );
  if (unknown.length > 0)
    new Logger(BACKJOB_LOGGER_CONTEXT).warn(
      messages.unknownOptionsWarning(unknown),
    );
}

function headerNames(names: unknown): string[] {
  if (
    !Array.isArray(names) ||
    names.some((name) => typeof name !== 'string' || name === '')
  )
    throw new BackJobConfigurationError(
      messages.invalidForwardHeadersMessage(names),
    );
  return names.map((name: string) => name.toLowerCase());
}

function resolveKey(key: unknown, env: NodeJS.ProcessEnv): string {
  const production = env.NODE_ENV === 'production';
  if (key !== undefined && typeof key !== 'string')
    throw new BackJobConfigurationError(messages.invalidKeyTypeMessage(key));
  if (key === undefined || key === '') {
    if (production)
      throw new BackJobConfigurationError(
        messages.missingKeyInProductionMessage(),
      );
    new Logger(BACKJOB_LOGGER_CONTEXT).warn(messages.randomKeyWarning());
    return randomBytes(32).toString('base64url');
  }
  if (key.length < 32)
    throw new BackJobConfigurationError(messages.shortKeyMessage(key.length));
  return key;
}

function validate(options: ResolvedBackJobOptions): void {
  const fail = (message: string) => {
    throw new BackJobConfigurationError(message);
  };
  for (const name of [
    'useDb',
    'useCache',
    'checkAndCreateTable',
    'allowSelfSignedCertificates',
    'mergeIdentical',
    'monitorRequest',
  ] as const)
    if (typeof options[name] !== 'boolean')
      fail(messages.invalidBooleanOptionMessage(name, options[name]));
  if (!options.useDb && !options.useCache) fail(messages.noStoreMessage());
  for (const name of ['userAgent', 'cachePrefix'] as const)
    if (typeof options[name] !== 'string')
      fail(messages.invalidTextOptionMessage(name, options[name]));
  const cron =
    typeof options.cleanupCron === 'string'
      ? validateCronExpression(options.cleanupCron)
      : { valid: false, error: undefined };
  if (!cron.valid)
    fail(
      messages.invalidCleanupCronMessage(
        options.cleanupCron,
        cron.error?.message ?? 'it is not text',
      ),
    );
  for (const name of [
    'errorTimeout',
    'watchPollInterval',
    'cacheTimeout',
    'pendingCacheTtl',
    'requestTimeout',
    'maxRequestBytes',
  ] as const) {
    if (!isFiniteNumber(options[name]) || options[name] <= 0) {
      fail(messages.positiveNumberMessage(name, options[name]));
    }
  }
  if (
    options.sweepInterval !== undefined &&
    !(isFiniteNumber(options.sweepInterval) && options.sweepInterval > 0)
  )
    fail(
      messages.positiveNumberMessage('sweepInterval', options.sweepInterval),
    );
  if (
    !Number.isInteger(options.maxConcurrentJobs) ||
    options.maxConcurrentJobs < 1
  )
    fail(
      messages.positiveIntegerMessage(
        'maxConcurrentJobs',
        options.maxConcurrentJobs,
      ),
    );
  for (const name of [
    'backlogDays',
    'allBacklogDays',
    'shutdownGracePeriod',
  ] as const) {
    if (!isFiniteNumber(options[name]) || options[name] < 0) {
      fail(messages.nonNegativeNumberMessage(name, options[name]));
    }
  }
  if (
    !Number.isInteger(options.maxOutputBytes) ||
    options.maxOutputBytes < MIN_OUTPUT_BYTES
  )
    fail(
      messages.smallOutputCapMessage(options.maxOutputBytes, MIN_OUTPUT_BYTES),
    );
  if (
    !Array.isArray(options.previousKeys) ||
    options.previousKeys.some((k) => typeof k !== 'string' || k.length < 32)
  )
    fail(messages.invalidPreviousKeysMessage());
  if (!TABLE_NAME.test(options.tableName))
    fail(messages.invalidTableNameMessage(options.tableName));
  if (options.baseUrl !== undefined && !isHttpUrl(options.baseUrl)) {
    fail(messages.invalidBaseUrlMessage(options.baseUrl));
  }
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      !url.search &&
      !url.hash
    );
  } catch {
    return false;
  }
}
