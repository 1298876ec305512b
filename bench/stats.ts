import { performance } from 'node:perf_hooks';

/** Summary figures of one scenario. */
export interface ScenarioResult {
  name: string;
  jobs: number;
  concurrency: number;
  /** Jobs per second, from the first enqueue to the last completion. */
  throughput: number;
  /** Milliseconds from the enqueue call to the handler's first line. */
  pickupP50: number;
  pickupP95: number;
  /** Milliseconds the enqueue call itself took. */
  enqueueP50: number;
}

/** What a scenario records while it runs. */
export interface Measurement {
  pickups: number[];
  enqueues: number[];
  began: number;
}

/** Call right before the first job is enqueued. */
export function startMeasuring(pickups: number[] = []): Measurement {
  return {
    pickups,
    enqueues: [],
    began: performance.now(),
  };
}

/** Call right after the last job completed. */
export function summarize(
  name: string,
  jobs: number,
  concurrency: number,
  m: Measurement,
): ScenarioResult {
  const elapsed = performance.now() - m.began;
  return {
    name,
    jobs,
    concurrency,
    throughput: (jobs / elapsed) * 1000,
    pickupP50: percentile(m.pickups, 50),
    pickupP95: percentile(m.pickups, 95),
    enqueueP50: percentile(m.enqueues, 50),
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/**
 * Feeds jobs through `concurrency` lanes: each lane enqueues a job, waits
 * until the scenario reports it done, then enqueues the next, so that every
 * scenario keeps the same number of jobs in flight.
 */
export class Lanes {
  private readonly waiting = new Map<string, () => void>();

  constructor(private readonly pickups: number[]) {}

  /** The job of `lane` is done. */
  done(lane: string): void {
    this.waiting.get(lane)?.();
  }

  async drive(
    jobs: number,
    concurrency: number,
    enqueue: (lane: string, enqueuedAt: number) => Promise<unknown>,
  ): Promise<Measurement> {
    const measuring = startMeasuring(this.pickups);
    let next = 0;
    const runLane = async (lane: string) => {
      while (next++ < jobs) {
        const finished = new Promise<void>((resolve) =>
          this.waiting.set(lane, resolve),
        );
        const enqueuedAt = performance.now();
        await enqueue(lane, enqueuedAt);
        measuring.enqueues.push(performance.now() - enqueuedAt);
        await finished;
      }
    };
    await Promise.all(
      Array.from({ length: concurrency }, (_, lane) => runLane(String(lane))),
    );
    return measuring;
  }
}

/** Resolves when `condition` holds, checking every `everyMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 120_000,
  everyMs = 5,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(
        'The benchmark timed out waiting for its jobs to complete.',
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export function formatTable(results: ScenarioResult[]): string {
  const header =
    '| scenario | jobs | in flight | jobs/s | pickup p50 (ms) | pickup p95 (ms) | enqueue p50 (ms) |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |';
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.jobs} | ${r.concurrency} | ${r.throughput.toFixed(0)} | ${r.pickupP50.toFixed(2)} | ${r.pickupP95.toFixed(2)} | ${r.enqueueP50.toFixed(2)} |`,
  );
  return [header, ...rows].join('\n');
}
