import type { LoggerService } from '@nestjs/common';
import { BackJobContext } from '../backjob.context.js';
import { CacheGuard } from './cache-guard.js';

/** A logger that keeps what it is told, so that a test's outage stays off the console. */
function recordingLogger() {
  const lines: string[] = [];
  const logger: LoggerService = {
    log: (message: string) => lines.push(`log ${message}`),
    warn: (message: string) => lines.push(`warn ${message}`),
    error: (message: string) => lines.push(`error ${message}`),
  };
  return { logger, lines };
}

describe('CacheGuard', () => {
  it('drops the entries written during an outage by a timer when no call comes, outside the request that wrote them', async () => {
    let forgotten!: (call: { ids: string[]; state: unknown }) => void;
    const forgetCall = new Promise<{ ids: string[]; state: unknown }>(
      (resolve) => (forgotten = resolve),
    );
    const { logger, lines } = recordingLogger();
    const guard = new CacheGuard(
      1000,
      (ids) => {
        forgotten({ ids, state: BackJobContext.instance.state });
        return Promise.resolve();
      },
      logger,
    );
    const state = { headers: { cookie: 'session=someone' } };
    try {
      await BackJobContext.instance.run(state, () =>
        guard.write('job-1', () => Promise.reject(new Error('cache down'))),
      );
      expect(lines).toEqual([expect.stringMatching(/^warn .*cache down/)]);

      // The sweeper was armed inside the request; it must not carry it.
      expect(await forgetCall).toEqual({ ids: ['job-1'], state: undefined });
    } finally {
      guard.stop();
    }
    // The sweeper's first tick comes 2 s after the failure, or one later
    // when it reads the clock a millisecond short of the retry time.
  }, 10_000);
});
