import type { Platform } from '../apps/bench-app.js';
import type { Sample } from '../figures.js';
import { measureAlternating } from '../http-load.js';

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
    withUrl?: string;
    withoutUrl?: string;
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
 * same turns.
 */
export async function routeScenario(run: RouteRun): Promise<Sample[]> {
  const urls = run.pairs.flatMap((pair) => [pair.withUrl, pair.withoutUrl]);
  if (urls.some((url) => url === undefined))
    throw new Error('The route servers were not started: run `npm run bench`.');
  const rates = await measureAlternating({
    urls: urls as string[],
    connections: 50,
    warmupMs: run.warmupMs,
    windowMs: run.windowMs,
    windows: run.windows,
  });
  return run.pairs.flatMap((pair, i) => {
    const [withRate, withoutRate] = [rates[2 * i], rates[2 * i + 1]];
    return [
      { system: pair.withSystem, figure: 'routeRate', value: withRate },
      { system: pair.withoutSystem, figure: 'routeRate', value: withoutRate },
      {
        system: pair.withSystem,
        figure: 'routeRatio',
        value: withRate / withoutRate,
      },
    ] satisfies Sample[];
  });
}
