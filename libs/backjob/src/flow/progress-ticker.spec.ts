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
  it('ticks until the run has no progress left to write, then stops', async () => {
    const ticker = new ProgressTicker();
    const { run, seen, written } = waitingRun(3);
    ticker.add(run);
    await written;
    expect(seen).toHaveLength(3);

    // Stopped: a later run arms it again.
    const again = waitingRun(1);
    ticker.add(again.run);
    await again.written;
    expect(again.seen).toHaveLength(1);
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
