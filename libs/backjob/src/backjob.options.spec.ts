import { Logger } from '@nestjs/common';
import { resolveBackJobOptions } from './backjob.options.js';
import { BackJobConfigurationError } from './errors/backjob-configuration.error.js';
import type { BackJobModuleOptions } from './interfaces/backjob-options.interface.js';
import { RecordingLogger } from '../../../test/fixtures/boot.js';

const KEY = 'k'.repeat(32);

function resolve(options: Record<string, unknown>) {
  return resolveBackJobOptions(options as BackJobModuleOptions, {}, {});
}

describe('resolveBackJobOptions()', () => {
  let logger: RecordingLogger;
  beforeEach(() => Logger.overrideLogger((logger = new RecordingLogger())));
  afterEach(() => Logger.overrideLogger(false));

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'a key that is a number',
      { key: 1e34 },
      /key must be a string of at least 32 characters, not 1e\+34\./,
    ],
    ['a key that is null', { key: null }, /key must be a string.*not null/],
    [
      'a key in an array',
      { key: [KEY] },
      /key must be a string of at least 32 characters, not an array/,
    ],
    [
      'forwardHeaders as one string',
      { key: KEY, forwardHeaders: 'cookie' },
      /forwardHeaders must be a list of header names, e\.g\. \['cookie', 'authorization'\], not "cookie"/,
    ],
    [
      'forwardHeaders with a number',
      { key: KEY, forwardHeaders: ['cookie', 5] },
      /forwardHeaders must be a list of header names.*not \["cookie",5\]/,
    ],
    [
      'a cleanupCron in words',
      { key: KEY, cleanupCron: 'every hour' },
      /cleanupCron must be a cron expression, e\.g\. '0 \* \* \* \*' \(every hour\), not "every hour": /,
    ],
    [
      'a cleanupCron of seven fields',
      { key: KEY, cleanupCron: '* * * * * * *' },
      /cleanupCron must be a cron expression.*: Too many fields/,
    ],
    [
      'a cleanupCron that is a number',
      { key: KEY, cleanupCron: 5 },
      /cleanupCron must be a cron expression.*not 5: it is not text/,
    ],
    [
      'a number given as text',
      { key: KEY, errorTimeout: '60' },
      /errorTimeout must be a number greater than 0, not "60"\./,
    ],
    [
      'a whole number given as text',
      { key: KEY, maxConcurrentJobs: 'x' },
      /maxConcurrentJobs must be a whole number of 1 or more, not "x"\./,
    ],
    [
      'a boolean given as text',
      { key: KEY, mergeIdentical: 'no' },
      /mergeIdentical must be true or false, not "no"\./,
    ],
    [
      'a userAgent that is a number',
      { key: KEY, userAgent: 5 },
      /userAgent must be a string, not 5\./,
    ],
  ])('refuses %s with a sentence that says what to pass', (_, options, why) => {
    const resolving = () => resolve(options);
    expect(resolving).toThrow(BackJobConfigurationError);
    expect(resolving).toThrow(why);
  });

  it('warns of options it does not know, which a typo makes', () => {
    const resolved = resolve({ key: KEY, maxConcurrentJob: 5, retries: 3 });
    expect(resolved.maxConcurrentJobs).toBe(20);
    expect(logger.warningMessages).toEqual([
      'BackJob does not know the options "maxConcurrentJob", "retries", and ignores them. Check the spelling against the options of the README.',
    ]);
  });

  it('takes every documented option without a warning', () => {
    const resolved = resolve({
      key: KEY,
      baseUrl: 'http://127.0.0.1:3000/',
      monitorRequest: false,
      sweepInterval: 5,
      forwardHeaders: ['Cookie', 'X-Api-Version'],
      cleanupCron: '@hourly',
      mergeIdentical: false,
    });
    expect(resolved).toMatchObject({
      baseUrl: 'http://127.0.0.1:3000',
      forwardHeaders: ['cookie', 'x-api-version'],
      cleanupCron: '@hourly',
      mergeIdentical: false,
    });
    expect(logger.warningMessages).toEqual([]);
  });
});
