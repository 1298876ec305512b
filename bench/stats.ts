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
  /** Resident memory growth of the process during the run, in MiB. */
  rssGrowthMiB: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/** Runs `total` tasks, at most `concurrency` at a time, each on a numbered lane. */
export async function runBounded(
  total: number,
  concurrency: number,
  task: (index: number, lane: number) => Promise<void>,
) {
  let next = 0;
  const runLane = async (lane: number) => {
    while (next < total) await task(next++, lane);
  };
  await Promise.all(
    Array.from({ length: concurrency }, (_, lane) => runLane(lane)),
  );
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
    '| scenario | jobs | in flight | jobs/s | pickup p50 (ms) | pickup p95 (ms) | enqueue p50 (ms) | RSS growth (MiB) |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.jobs} | ${r.concurrency} | ${r.throughput.toFixed(0)} | ${r.pickupP50.toFixed(2)} | ${r.pickupP95.toFixed(2)} | ${r.enqueueP50.toFixed(2)} | ${r.rssGrowthMiB.toFixed(1)} |`,
  );
  return [header, ...rows].join('\n');
}
