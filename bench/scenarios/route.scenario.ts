import type { Platform } from '../apps/bench-app.js';
import type { Sample } from '../figures.js';
import { measureAlternating, type LoadedServer } from '../http-load.js';

export interface RouteRun {
  scenario: 'route';
  /**
   * One pair of servers per platform: the systems their figures belong to,
   * and the URLs of the servers the parent started (see run.ts).
   */
  pairs: {
    platform: Platform;
    withSystem: string;
    withoutSystem: string;
    withServer?: LoadedServer;
    withoutServer?: LoadedServer;
    /** A second process of the app without BackJob: the control. */
    controlServer?: LoadedServer;
  }[];
  warmupMs: number;
  windowMs: number;
  windows: number;
}

/**
 * What BackJob costs a route that is not a job: one GET route in the same
 * app (TypeORM on SQLite, ScheduleModule) with and without BackJobModule,
 * on each platform, each a server process of its own, loaded in
 * alternating turns (see measureAlternating). Each ratio is taken on the
 * same turns: of the answers per second, and (meant to be less swayed by
 * what else the machine runs) of the servers' CPU time per answer. The
 * control, a second process of the app without BackJob measured the same
 * way, shows how far two processes of one app differ: a ratio within its
 * distance from 1 is no cost that this run can tell.
 */
export async function routeScenario(run: RouteRun): Promise<Sample[]> {
  const servers = run.pairs.flatMap((pair) => [
    pair.withServer,
    pair.withoutServer,
    pair.controlServer,
  ]);
  if (servers.some((server) => server === undefined))
    throw new Error('The route servers were not started: run `npm run bench`.');
  const results = await measureAlternating({
    servers: servers as LoadedServer[],
    connections: 50,
    warmupMs: run.warmupMs,
    windowMs: run.windowMs,
    windows: run.windows,
  });
  return run.pairs.flatMap((pair, i) => {
    const [withBackJob, without, control] = results.slice(3 * i, 3 * i + 3);
    return [
      { system: pair.withSystem, figure: 'routeRate', value: withBackJob.rate },
      { system: pair.withoutSystem, figure: 'routeRate', value: without.rate },
      {
        system: pair.withSystem,
        figure: 'routeRatio',
        value: withBackJob.rate / without.rate,
      },
      {
        system: pair.withSystem,
        figure: 'routeCpu',
        value: withBackJob.cpuPerRequest,
      },
      {
        system: pair.withoutSystem,
        figure: 'routeCpu',
        value: without.cpuPerRequest,
      },
      {
        system: pair.withSystem,
        figure: 'routeCpuRatio',
        value: without.cpuPerRequest / withBackJob.cpuPerRequest,
      },
      {
        system: pair.withoutSystem,
        figure: 'routeControlRatio',
        value: control.rate / without.rate,
      },
    ] satisfies Sample[];
  });
}
