// `node bench/dist/bench/probes/wake-stall.probe.js` (after `npm run
// bench:probe` or `tsc -b bench/tsconfig.json`): how often this machine
// stalls the first call after a timer wake-up, without Nest or BackJob. Each
// call below is made 3,000 times in the update() figure's pattern (1,000 a
// second, from 1 ms timers) and timed the same way; a bare machine shows a
// p99 of a few µs for each, a shared VM sometimes 100–200 µs.
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { percentile, sleep } from '../stats.js';

const CALLS = 3000;
const PER_SECOND = 1000;
const SLOW_US = 50;

async function timed(call: () => unknown): Promise<number[]> {
  const durations: number[] = [];
  const began = performance.now();
  for (let i = 0; i < CALLS;) {
    const due = Math.min(
      CALLS,
      Math.floor(((performance.now() - began) * PER_SECOND) / 1000) + 1,
    );
    for (; i < due; i++) {
      const start = performance.now();
      sink = call();
      durations.push((performance.now() - start) * 1000);
    }
    await sleep(1);
  }
  return durations;
}

// Where the calls' values go: a value nobody keeps could be optimised away.
let sink: unknown;

const storage = new AsyncLocalStorage<{ run: object }>();
const calls: [string, () => unknown][] = [
  ['nothing', () => 0],
  ['Date.now()', () => Date.now()],
  ['performance.now()', () => performance.now()],
  ['AsyncLocalStorage store', () => storage.getStore()?.run],
];

await storage.run({ run: {} }, async () => {
  console.log(
    `${CALLS} calls each, ${PER_SECOND} a second: p99 and calls over ${SLOW_US} µs`,
  );
  for (const [name, call] of calls) {
    const durations = await timed(call);
    const slow = durations.filter((us) => us > SLOW_US).length;
    console.log(
      `  ${name.padEnd(24)} ${percentile(durations, 99).toFixed(1).padStart(7)} µs ${String(slow).padStart(5)}`,
    );
  }
});
void sink;
