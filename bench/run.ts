// `npm run bench [-- --quick] [-- --rounds N] [-- --only TEXT]
// [-- --pickup-idle MS]`: BackJob on
// SQLite, PostgreSQL and PostgreSQL + Redis (Express and Fastify) beside
// BullMQ and pg-boss, on this machine's services. Each system runs in a
// child process of its own, one after another, in interleaved rounds;
// prints the medians with their ranges and writes bench/results.json.
// See docs/benchmarks.md.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { findService } from '../test/fixtures/test-stores.js';
import { runChild, runName } from './children.js';
import { sweepRun } from './cleanup.js';
import { planRound } from './plan.js';
import {
  addSamples,
  describeSamples,
  formatTable,
  summarize,
  type RoundSamples,
} from './report.js';
import { CHILD_ENV, SERVICE_ENV, TAG_ENV } from './resources.js';
import {
  startRouteServers,
  stopRouteServer,
  type RouteServer,
} from './route-servers.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    'pickup-idle': { type: 'string' },
  },
});
const quick = args.quick ?? false;
const rounds = wholeNumber('rounds', args.rounds, quick ? 3 : 5, 1, 100);
const pickupIdleMs = wholeNumber(
  'pickup-idle',
  args['pickup-idle'],
  0,
  0,
  1000,
);
const plan = planRound(quick, pickupIdleMs).filter(
  (run) =>
    !args.only || run.system.toLowerCase().includes(args.only.toLowerCase()),
);
/** The value of option `--name`, or `fallback` without it; exits with a clear message unless a whole number in [min, max]. */
function wholeNumber(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (Number.isInteger(value) && value >= min && value <= max) return value;
  console.error(
    `--${name} takes a whole number from ${min} to ${max}, not "${text}".`,
  );
  process.exit(2);
}
const childTimeoutMs = quick ? 60_000 : 180_000;
const resultsFile = new URL('../../results.json', import.meta.url);

/** The services the plan needs, found as the tests find them (same variables and defaults). */
async function findServices(): Promise<{ postgres?: string; redis?: string }> {
  const found: { postgres?: string; redis?: string } = {};
  const needed = new Set(plan.flatMap((run) => run.services));
  for (const service of needed) {
    const check = await findService(service);
    if ('problem' in check)
      throw new Error(
        `${check.problem} Or leave out the systems that need it with --only (e.g. --only sqlite).`,
      );
    found[service] = check.url;
    process.env[SERVICE_ENV[service]] = check.url;
  }
  return found;
}

// Ctrl-C reaches the child too (same process group) and ends it; the
// parent stays to sweep what it left, then exits with the failure.
process.on('SIGINT', () => process.stderr.write('\nInterrupted.\n'));

const tag = randomBytes(3).toString('hex');
/** A child's environment: the run's tag and the child's own number (see resources.ts). */
const childEnv = (child: string) => ({
  ...process.env,
  [TAG_ENV]: tag,
  [CHILD_ENV]: child,
});
let services: { postgres?: string; redis?: string } = {};
const routeServers: RouteServer[] = [];
let failed = false;
const began = performance.now();
try {
  services = await findServices();
  await startRouteServers(plan, childEnv('routes'), routeServers);
  const collected: RoundSamples[] = [];
  for (let round = 0; round < rounds; round++) {
    const samples: RoundSamples = new Map();
    collected.push(samples);
    for (const [index, run] of plan.entries()) {
      process.stderr.write(`round ${round + 1}/${rounds} · ${runName(run)}: `);
      const childBegan = performance.now();
      const got = await runChild(
        run,
        childEnv(`r${round}c${index}`),
        childTimeoutMs,
      );
      addSamples(samples, run.system, got);
      const seconds = (performance.now() - childBegan) / 1000;
      process.stderr.write(
        `${describeSamples(got)} (${seconds.toFixed(1)} s)\n`,
      );
    }
  }
  // In the order they first reported, which is the plan's.
  const systems = [...new Set(collected.flatMap((r) => [...r.keys()]))];
  const results = summarize(collected, systems);
  writeFileSync(
    resultsFile,
    `${JSON.stringify(
      results.map(({ key: _key, ...result }) => result),
      null,
      2,
    )}\n`,
  );
  const minutes = ((performance.now() - began) / 60_000).toFixed(1);
  console.log(
    `\n${quick ? 'Quick run' : 'Run'}: ${rounds} rounds in ${minutes} min, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim()})${pickupIdleMs ? `, ${pickupIdleMs} ms idle before each pickup` : ''}. Medians over the rounds, range = lowest–highest.\n`,
  );
  console.log(formatTable(results));
  console.log('\nWritten to bench/results.json.');
} catch (error) {
  failed = true;
  console.error(
    `\nThe bench failed: ${error instanceof Error ? error.message : String(error)}`,
  );
} finally {
  await Promise.all(routeServers.map(stopRouteServer));
  const left = await sweepRun(tag, services).catch((error: unknown) => [
    `(the sweep failed: ${String(error)})`,
  ]);
  if (left.length > 0) {
    console.error(`Removed what the children left behind: ${left.join(', ')}.`);
    // A child that succeeded must clean up after itself.
    if (!failed) process.exitCode = 1;
  }
}
if (failed) process.exitCode = 1;
