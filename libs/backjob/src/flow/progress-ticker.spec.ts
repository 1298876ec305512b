import { BackJobContext } from '../backjob.context.js';
import {
  PROGRESS_TICK_MS,
  ProgressTicker,
  type TickedRun,
} from './progress-ticker.js';

/** A run whose progress waits for `ticks` ticks; records the request state each tick runs in. */
function waitingRun(ticks: number) {
  const seen: unknown[] = [];
  let left = ticks;
  let resolveWritten!: () => void;
  const written = new Promise<void>((resolve) => (resolveWritten = resolve));
  const run: TickedRun = {
    writeIfDue: () => {
      seen.push(BackJobContext.instance.state);
      if (--left > 0) return true;
      resolveWritten();
      return false;
    },
  };
  return { run, seen, written };
}

/** The ticker's own timers among every setInterval()/clearInterval() of the test. */
function watchTickerTimers() {
  const arming = vi.spyOn(globalThis, 'setInterval');
  const stopping = vi.spyOn(globalThis, 'clearInterval');
  const armed = () =>
    arming.mock.calls.flatMap((call, i) =>
      call[1] === PROGRESS_TICK_MS ? [arming.mock.results[i].value] : [],
    );
  return {
    armedCount: () => armed().length,
    stoppedCount: () =>
      stopping.mock.calls.filter(([timer]) => armed().includes(timer)).length,
    restore: () => {
      arming.mockRestore();
      stopping.mockRestore();
    },
  };
}

describe('ProgressTicker', () => {
  it('ticks until the run has no progress left to write, and stops a few quiet ticks later', async () => {
    const timers = watchTickerTimers();
    try {
      const ticker = new ProgressTicker();
      const { run, seen, written } = waitingRun(3);
      ticker.add(run);
      await written;
      expect(seen).toHaveLength(3);
      expect(timers.armedCount()).toBe(1);
      await vi.waitFor(() => expect(timers.stoppedCount()).toBe(1), {
        timeout: 5000,
      });

      // Stopped: a later run arms it again.
      const again = waitingRun(1);
      ticker.add(again.run);
      await again.written;
      expect(again.seen).toHaveLength(1);
      expect(timers.armedCount()).toBe(2);
    } finally {
      timers.restore();
    }
  });

  it('keeps its timer for a run that joins again right after its write, instead of arming one inside every update()', async () => {
    const timers = watchTickerTimers();
    try {
      const ticker = new ProgressTicker();
      // Each run joins in the turn its predecessor was written in, well
      // before the quiet ticks run out.
      for (let write = 0; write < 5; write++) {
        const { run, written } = waitingRun(1);
        ticker.add(run);
        await written;
      }
      expect(timers.armedCount()).toBe(1);
      expect(timers.stoppedCount()).toBe(0);
    } finally {
      timers.restore();
    }
  });

  it('runs outside the request of the update() that armed it, which it would keep alive', async () => {
    const ticker = new ProgressTicker();
    const { run, seen, written } = waitingRun(2);
    const state = { headers: { cookie: 'session=someone' } };
    BackJobContext.instance.run(state, () => ticker.add(run));
    await written;
    expect(seen).toEqual([undefined, undefined]);
  });
});
