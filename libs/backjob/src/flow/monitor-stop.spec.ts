import { MonitorStop } from './monitor-stop.js';

describe('MonitorStop', () => {
  it('calls each listener once, when it stops', () => {
    const stop = new MonitorStop();
    const calls: string[] = [];
    stop.onStop(() => calls.push('a'));
    stop.onStop(() => calls.push('b'));
    expect(calls).toEqual([]);
    stop.stop();
    stop.stop();
    expect(calls).toEqual(['a', 'b']);
    expect(stop.stopped).toBe(true);
  });

  it('calls a listener added after the stop at once', () => {
    const stop = new MonitorStop();
    stop.stop();
    let called = 0;
    const takeBack = stop.onStop(() => called++);
    expect(called).toBe(1);
    takeBack();
    expect(called).toBe(1);
  });

  it('never calls a listener taken back, and keeps the others', () => {
    const stop = new MonitorStop();
    const calls: string[] = [];
    const takeBackA = stop.onStop(() => calls.push('a'));
    stop.onStop(() => calls.push('b'));
    takeBackA();
    takeBackA();
    stop.stop();
    expect(calls).toEqual(['b']);
  });
});
