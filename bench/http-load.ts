import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  isMainThread,
  parentPort,
  Worker,
  workerData,
} from 'node:worker_threads';

/** A server under load: the URL to load, and one that answers its process's CPU time so far (µs). */
export interface LoadedServer {
  url: string;
  cpuUrl: string;
}

/** What one server did over its turns. */
export interface ServerLoadResult {
  /** Answers per second. */
  rate: number;
  /** The server process's CPU time per answer (µs). */
  cpuPerRequest: number;
}

export interface AlternatingLoad {
  /** The servers to compare, each loaded in turn, never two at once. */
  servers: LoadedServer[];
  /** Keep-alive connections per server, each with one request at a time. */
  connections: number;
  /** Load on each server first, not counted. */
  warmupMs: number;
  /** How long each server is loaded in one turn. */
  windowMs: number;
  /** Turns per server. */
  windows: number;
}

/**
 * Requests per second each server answers, and the CPU time it spent per
 * answer, from a worker thread of this process: the client gets an event
 * loop (and core) of its own, so the figure is the server's. Servers are loaded in short turns, in the order
 * A B B A A B…, so that a machine that gets busier or quieter during the
 * measure (others' tests on the same cores) weighs on both alike: their
 * ratio holds better than two measures taken one after the other.
 */
export function measureAlternating(
  load: AlternatingLoad,
): Promise<ServerLoadResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: load });
    worker.once('message', (results: ServerLoadResult[]) => resolve(results));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`The load worker exited with ${code}.`));
    });
  });
}

/** Loads `url` for `ms` with `connections` loops; resolves with how many answers came back. */
async function loadFor(
  url: string,
  agent: Agent,
  connections: number,
  ms: number,
): Promise<number> {
  const end = performance.now() + ms;
  let answered = 0;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode === 200) {
            answered++;
            resolve();
          } else reject(new Error(`${url} answered ${res.statusCode}.`));
        });
      });
      req.once('error', reject);
      req.end();
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await once();
    }),
  );
  return answered;
}

async function alternate(load: AlternatingLoad): Promise<ServerLoadResult[]> {
  const agents = load.servers.map(
    () => new Agent({ keepAlive: true, maxSockets: load.connections }),
  );
  try {
    for (const [i, { url }] of load.servers.entries())
      await loadFor(url, agents[i], load.connections, load.warmupMs);
    const answered = load.servers.map(() => 0);
    const spent = load.servers.map(() => 0);
    const cpu = load.servers.map(() => 0);
    for (let turn = 0; turn < load.windows; turn++) {
      const order = load.servers.map((_, i) => i);
      if (turn % 2 === 1) order.reverse();
      for (const i of order) {
        const { url, cpuUrl } = load.servers[i];
        const cpuBefore = await cpuTime(cpuUrl);
        const began = performance.now();
        answered[i] += await loadFor(
          url,
          agents[i],
          load.connections,
          load.windowMs,
        );
        spent[i] += performance.now() - began;
        cpu[i] += (await cpuTime(cpuUrl)) - cpuBefore;
      }
    }
    return answered.map((n, i) => ({
      rate: (n / spent[i]) * 1000,
      cpuPerRequest: cpu[i] / n,
    }));
  } finally {
    agents.forEach((agent) => agent.destroy());
  }
}

/** The CPU time (µs) a server process has used so far. */
async function cpuTime(cpuUrl: string): Promise<number> {
  const response = await fetch(cpuUrl);
  return Number(await response.text());
}

if (!isMainThread)
  parentPort!.postMessage(await alternate(workerData as AlternatingLoad));
