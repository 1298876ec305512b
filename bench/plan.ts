import { readFileSync } from 'node:fs';
import type { Platform } from './apps/bench-app.js';
import type { StoreKind } from './apps/bench-store.js';
import type { BurstRun } from './scenarios/burst.scenario.js';
import type { CrossInstanceRun } from './scenarios/cross-instance.scenario.js';
import type { MemoryRun } from './scenarios/memory.scenario.js';
import type { QueueRun } from './scenarios/queue.scenario.js';
import type { RouteRun } from './scenarios/route.scenario.js';
import type { UpdateRun } from './scenarios/update.scenario.js';
import type { WatchRun } from './scenarios/watch.scenario.js';

/** What one child process runs. */
export type ScenarioParams =
  | QueueRun
  | RouteRun
  | UpdateRun
  | CrossInstanceRun
  | MemoryRun
  | BurstRun
  | WatchRun;

/** One child process: its scenarios run one after the other, each on an app of its own. */
export interface Run {
  /** The system its figures belong to, unless a sample names another. */
  system: string;
  services: ('postgres' | 'redis')[];
  scenarios: ScenarioParams[];
}

function versionOf(name: string): string {
  const file = new URL(
    `../../../node_modules/${name}/package.json`,
    import.meta.url,
  );
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string })
    .version;
}

const STORE_NAMES: Record<StoreKind, string> = {
  sqlite: 'SQLite',
  postgres: 'PG',
  'postgres+redis': 'PG+Redis',
};
const STORE_SERVICES: Record<StoreKind, Run['services']> = {
  sqlite: [],
  postgres: ['postgres'],
  'postgres+redis': ['postgres', 'redis'],
};

export function backjobSystem(store: StoreKind, platform: Platform): string {
  return `BackJob ${STORE_NAMES[store]} (${platform === 'express' ? 'Express' : 'Fastify'})`;
}

export const SYSTEMS = {
  bullmq: `BullMQ ${versionOf('bullmq')}`,
  pgboss: `pg-boss ${versionOf('pg-boss')}`,
  plain: (platform: Platform) =>
    `Nest without BackJob (${platform === 'express' ? 'Express' : 'Fastify'})`,
};

const STORES: StoreKind[] = ['sqlite', 'postgres', 'postgres+redis'];
const PLATFORMS: Platform[] = ['express', 'fastify'];

/**
 * Every child of one round, in the order they run. `quick` keeps each
 * figure but measures fewer jobs and shorter windows; the burst keeps its
 * 3,000 jobs (its target is about 3,000). `pickupIdleMs`: see
 * `WorkloadSizes`.
 */
export function planRound(quick: boolean, pickupIdleMs = 0): Run[] {
  const counts = quick
    ? {
        warmup: 300,
        pickup: 30,
        enqueue: 200,
        endToEnd: 200,
        inFlight: 50,
        statusReads: 100,
      }
    : {
        warmup: 500,
        pickup: 200,
        enqueue: 1000,
        endToEnd: 2000,
        inFlight: 50,
        statusReads: 1000,
      };
  const sizes = { ...counts, pickupIdleMs };
  // update() and cross-instance: how long the job calls update() 1,000 times a second.
  const windowMs = quick ? 500 : 3000;
  // BackJob's own figures run in the child of the system they belong to,
  // after its workload (which stays as fresh as the other systems'), each on
  // an app of its own: a process start saved per round.
  const extras = (store: StoreKind, platform: Platform): ScenarioParams[] => {
    if (platform !== 'express') return [];
    if (store === 'sqlite')
      return [
        { scenario: 'memory', jobs: 50 },
        {
          scenario: 'watch',
          watches: quick ? 50 : 200,
          changes: quick ? 15 : 100,
        },
        { scenario: 'update', durationMs: windowMs },
      ];
    if (store === 'postgres+redis')
      return [{ scenario: 'crossInstance', durationMs: windowMs }];
    return [];
  };
  const runs: Run[] = [];
  for (const store of STORES)
    for (const platform of PLATFORMS)
      runs.push({
        system: backjobSystem(store, platform),
        services: STORE_SERVICES[store],
        scenarios: [
          {
            scenario: 'queue',
            engine: { name: 'backjob', store, platform },
            sizes,
          },
          ...extras(store, platform),
        ],
      });
  runs.push(
    {
      system: SYSTEMS.bullmq,
      services: ['redis'],
      scenarios: [{ scenario: 'queue', engine: { name: 'bullmq' }, sizes }],
    },
    {
      system: SYSTEMS.pgboss,
      services: ['postgres'],
      scenarios: [{ scenario: 'queue', engine: { name: 'pgboss' }, sizes }],
    },
    // The burst first: its peak RSS is the process's high-water mark, and
    // the route figure adds nothing to it (its servers are processes of
    // their own; this one only sends the load). On Fastify in a process of
    // its own: the platform's own garbage per request is most of the peak.
    {
      system: backjobSystem('sqlite', 'fastify'),
      services: [],
      scenarios: [{ scenario: 'burst', jobs: 3000, platform: 'fastify' }],
    },
    {
      system: backjobSystem('sqlite', 'express'),
      services: [],
      scenarios: [
        { scenario: 'burst', jobs: 3000, platform: 'express' },
        {
          scenario: 'route',
          pairs: PLATFORMS.map((platform) => ({
            platform,
            withSystem: backjobSystem('sqlite', platform),
            withoutSystem: SYSTEMS.plain(platform),
          })),
          warmupMs: quick ? 50 : 500,
          windowMs: 50,
          windows: quick ? 20 : 50,
        },
      ],
    },
  );
  return runs;
}
