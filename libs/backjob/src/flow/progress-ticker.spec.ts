import { BackJobContext } from '../backjob.context.js';
import { ProgressTicker, type TickedRun } from './progress-ticker.js';

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

describe('ProgressTicker', () => {
  it('ticks until the run has no progress left to write, and stops a few quiet ticks later', async () => {
    const arming = vi.spyOn(globalThis, 'setInterval');
    const stopping = vi.spyOn(globalThis, 'clearInterval');
    try {
      const ticker = new ProgressTicker();
      const { run, seen, written } = waitingRun(3);
      ticker.add(run);
      await written;
      expect(seen).toHaveLength(3);
      expect(arming).toHaveBeenCalledTimes(1);
      await vi.waitFor(() => expect(stopping).toHaveBeenCalledTimes(1));

      // Stopped: a later run arms it again.
      const again = waitingRun(1);
      ticker.add(again.run);
      await again.written;
      expect(again.seen).toHaveLength(1);
      expect(arming).toHaveBeenCalledTimes(2);
    } finally {
      arming.mockRestore();
      stopping.mockRestore();
    }
  });

  it('keeps its timer for a run that joins again right after its write, instead of arming one inside every update()', async () => {
    const arming = vi.spyOn(globalThis, 'setInterval');
    try {
      const ticker = new ProgressTicker();
      for (let write = 0; write < 5; write++) {
        const { run, written } = waitingRun(1);
        ticker.add(run);
        await written;
      }
      expect(arming).toHaveBeenCalledTimes(1);
    } finally {
      arming.mockRestore();
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
