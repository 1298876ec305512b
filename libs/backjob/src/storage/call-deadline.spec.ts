import { BackJobContext } from '../backjob.context.js';
import { CallDeadline } from './call-deadline.js';

/** A call that ends only when the test says so. */
function heldCall<T>() {
  let settle!: { resolve: (value: T) => void; reject: (error: Error) => void };
  const call = new Promise<T>(
    (resolve, reject) => (settle = { resolve, reject }),
  );
  return { call, ...settle };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => `resolved ${String(value)}`,
    (error: Error) => `rejected ${error.message}`,
  );

describe('CallDeadline', () => {
  it('passes on what a call gives in time, and rejects the callers of those that outlive it', async () => {
    const deadline = new CallDeadline(20, () => new Error('too slow'));
    const hung = heldCall<string>();
    const hungOutcome = outcome(deadline.bound(hung.call));
    expect(await outcome(deadline.bound(Promise.resolve('quick')))).toBe(
      'resolved quick',
    );
    expect(
      await outcome(deadline.bound(Promise.reject(new Error('refused')))),
    ).toBe('rejected refused');

    expect(await hungOutcome).toBe('rejected too slow');
    // Its late answer goes nowhere.
    hung.resolve('late');
    expect(await hungOutcome).toBe('rejected too slow');
  });

  it('gives each call its own deadline, from when it was made', async () => {
    const deadline = new CallDeadline(20, () => new Error('too slow'));
    const first = heldCall<string>();
    const firstOutcome = outcome(deadline.bound(first.call));
    expect(await firstOutcome).toBe('rejected too slow');

    // Made after the timer fired: the deadline arms again for it.
    const second = heldCall<string>();
    const secondOutcome = outcome(deadline.bound(second.call));
    second.resolve('in time');
    expect(await secondOutcome).toBe('resolved in time');
    const third = heldCall<string>();
    expect(await outcome(deadline.bound(third.call))).toBe('rejected too slow');
  });

  it('times out outside the request of the call that armed it, which it would keep alive', async () => {
    const deadline = new CallDeadline(5, () => new Error('too slow'));
    const state = { headers: { cookie: 'session=someone' } };
    const firstExpiry = new Promise<unknown>((resolve) =>
      BackJobContext.instance.run(state, () =>
        deadline.watch(() => resolve(BackJobContext.instance.state)),
      ),
    );
    // Under way when the first expires: the timer arms again for it.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const secondExpiry = new Promise<unknown>((resolve) =>
      deadline.watch(() => resolve(BackJobContext.instance.state)),
    );
    expect(await firstExpiry).toBeUndefined();
    expect(await secondExpiry).toBeUndefined();
  });

  it('rejects a call made while another waited at its own deadline, not the first one', async () => {
    const deadline = new CallDeadline(20, () => new Error('too slow'));
    const first = outcome(deadline.bound(heldCall<string>().call));
    await new Promise((resolve) => setTimeout(resolve, 10));
    const laterCall = heldCall<string>();
    const later = outcome(deadline.bound(laterCall.call));
    expect(await first).toBe('rejected too slow');
    // The timer that rejected the first armed again for it (or, firing
    // late, found it due as well).
    expect(await later).toBe('rejected too slow');
  });
});
