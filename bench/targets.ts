import type { Platform } from './apps/bench-app.js';
import type { StoreKind } from './apps/bench-store.js';
import type { FigureKey } from './figures.js';
import { backjobSystem, SYSTEMS } from './plan.js';

/**
 * A target of issue #10, on one system's figure: a bound of its own, or a
 * multiple of another system's median in the same run.
 */
export interface Target {
  system: string;
  figure: FigureKey;
  op: '<=' | '>=' | '=';
  value: number;
  /** The bound is `value` × this system's median of the same figure. */
  relativeTo?: string;
}

const PLATFORMS: Platform[] = ['express', 'fastify'];
const POSTGRES: StoreKind[] = ['postgres', 'postgres+redis'];

function onEveryPlatform(
  store: StoreKind,
  target: Omit<Target, 'system'>,
): Target[] {
  return PLATFORMS.map((platform) => ({
    ...target,
    system: backjobSystem(store, platform),
  }));
}

const sqlite = backjobSystem('sqlite', 'express');

export const TARGETS: Target[] = [
  // Pickup p50: on SQLite ≤ BullMQ's; on PostgreSQL ≤ pg-boss's with LISTEN/NOTIFY.
  ...onEveryPlatform('sqlite', {
    figure: 'pickupP50',
    op: '<=',
    value: 1,
    relativeTo: SYSTEMS.bullmq,
  }),
  ...POSTGRES.flatMap((store) =>
    onEveryPlatform(store, {
      figure: 'pickupP50',
      op: '<=',
      value: 1,
      relativeTo: SYSTEMS.pgboss,
    }),
  ),
  // start() on SQLite: ≥ 5,000/s one at a time, p50 ≤ 0.2 ms.
  ...onEveryPlatform('sqlite', {
    figure: 'enqueueRate',
    op: '>=',
    value: 5000,
  }),
  ...onEveryPlatform('sqlite', { figure: 'enqueueP50', op: '<=', value: 0.2 }),
  // End to end: SQLite ≥ 0.35× BullMQ; PostgreSQL ≥ 0.75× pg-boss; Fastify ≥ Express.
  ...onEveryPlatform('sqlite', {
    figure: 'endToEnd',
    op: '>=',
    value: 0.35,
    relativeTo: SYSTEMS.bullmq,
  }),
  ...POSTGRES.flatMap((store) =>
    onEveryPlatform(store, {
      figure: 'endToEnd',
      op: '>=',
      value: 0.75,
      relativeTo: SYSTEMS.pgboss,
    }),
  ),
  ...(['sqlite', ...POSTGRES] as StoreKind[]).map((store): Target => ({
    system: backjobSystem(store, 'fastify'),
    figure: 'endToEnd',
    op: '>=',
    value: 1,
    relativeTo: backjobSystem(store, 'express'),
  })),
  // A route that is not a job: ≥ 0.95× the app without BackJob.
  ...onEveryPlatform('sqlite', { figure: 'routeRatio', op: '>=', value: 0.95 }),
  // The same, from the servers' CPU time per request: what throughput
  // measures, without the scheduling noise of a shared machine.
  ...onEveryPlatform('sqlite', {
    figure: 'routeCpuRatio',
    op: '>=',
    value: 0.95,
  }),
  // update() at 1,000 calls a second.
  { system: sqlite, figure: 'updateCallP99', op: '<=', value: 20 },
  { system: sqlite, figure: 'updateWrites', op: '<=', value: 10 },
  { system: sqlite, figure: 'updateLastStored', op: '=', value: 1 },
  {
    system: backjobSystem('postgres+redis', 'express'),
    figure: 'crossInstanceP99',
    op: '<=',
    value: 250,
  },
  // Memory: ≤ 40 KB and ≤ 2 sockets per running job.
  { system: sqlite, figure: 'memoryPerJob', op: '<=', value: 40 },
  { system: sqlite, figure: 'socketsPerJob', op: '<=', value: 2 },
  // Bursts: 3,000 start() at once.
  ...onEveryPlatform('sqlite', {
    figure: 'burstStartP99',
    op: '<=',
    value: 100,
  }),
  ...onEveryPlatform('sqlite', {
    figure: 'burstPeakRss',
    op: '<=',
    value: 150,
  }),
  ...onEveryPlatform('sqlite', {
    figure: 'burstExactlyOnce',
    op: '=',
    value: 1,
  }),
  // watch(): first snapshot within 1 ms, each local change within 5 ms.
  { system: sqlite, figure: 'watchFirstP50', op: '<=', value: 1 },
  { system: sqlite, figure: 'watchChangeP99', op: '<=', value: 5 },
];
