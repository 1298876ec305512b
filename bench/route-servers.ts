import { fork, type ChildProcess } from 'node:child_process';
import type { Platform } from './apps/bench-app.js';
import type { LoadedServer } from './http-load.js';
import type { Run } from './plan.js';

/** A running route server (route-server.ts): its process, the URL of its GET route and of its CPU time. */
export interface RouteServer extends LoadedServer {
  proc: ChildProcess;
}

/** Forks one route server and resolves once it listens. */
export function startRouteServer(
  platform: Platform,
  withBackJob: boolean,
  env: NodeJS.ProcessEnv,
): Promise<RouteServer> {
  return new Promise((resolve, reject) => {
    const proc = fork(
      new URL('./route-server.js', import.meta.url),
      [platform, withBackJob ? 'with' : 'without'],
      { env },
    );
    proc.once('message', (m: LoadedServer) => resolve({ proc, ...m }));
    proc.once('error', reject);
    proc.once('exit', (code) =>
      reject(
        new Error(`The route server exited with ${code} before it listened.`),
      ),
    );
  });
}

/** Asks it to close its app and remove its store; resolves when it has exited. */
export function stopRouteServer(server: RouteServer): Promise<void> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null)
    return Promise.resolve();
  return new Promise((resolve) => {
    server.proc.removeAllListeners('exit');
    server.proc.once('exit', () => resolve());
    server.proc.send('stop');
  });
}

/**
 * The route figure's servers, started together before the first round and
 * kept to the last; their URLs go into the plan's route scenarios. Those
 * that did start are pushed to `started` even when another failed, so that
 * the caller stops them.
 */
export async function startRouteServers(
  plan: Run[],
  env: NodeJS.ProcessEnv,
  started: RouteServer[],
): Promise<void> {
  const pairs = plan.flatMap((run) =>
    run.scenarios.flatMap((params) =>
      params.scenario === 'route' ? params.pairs : [],
    ),
  );
  // Per pair: the app with BackJob, without it, and a second process
  // without it (the control).
  const results = await Promise.allSettled(
    pairs.flatMap((pair) => [
      startRouteServer(pair.platform, true, env),
      startRouteServer(pair.platform, false, env),
      startRouteServer(pair.platform, false, env),
    ]),
  );
  for (const result of results)
    if (result.status === 'fulfilled') started.push(result.value);
  for (const result of results)
    if (result.status === 'rejected') throw result.reason;
  const loaded = ({ url, cpuUrl }: RouteServer): LoadedServer => ({
    url,
    cpuUrl,
  });
  pairs.forEach((pair, i) => {
    pair.withServer = loaded(started[3 * i]);
    pair.withoutServer = loaded(started[3 * i + 1]);
    pair.controlServer = loaded(started[3 * i + 2]);
  });
}
