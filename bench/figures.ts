/**
 * Every figure the bench reports: its label in the table and its unit. A
 * child reports samples by key; the parent names them.
 */
export const FIGURES = {
  endToEnd: { label: 'end-to-end', unit: 'jobs/s', digits: 0 },
  pickupP50: { label: 'pickup p50', unit: 'ms', digits: 2 },
  enqueueRate: { label: 'enqueue, one at a time', unit: 'jobs/s', digits: 0 },
  enqueueP50: { label: 'enqueue p50', unit: 'ms', digits: 3 },
  statusP50: { label: 'status read p50', unit: 'ms', digits: 3 },
  routeRate: { label: 'plain GET route', unit: 'req/s', digits: 0 },
  routeRatio: {
    label: 'plain GET route vs the app without BackJob',
    unit: '×',
    digits: 2,
  },
  routeCpu: {
    label: 'plain GET route: server CPU per request',
    unit: 'µs',
    digits: 1,
  },
  routeCpuRatio: {
    label: 'plain GET route: CPU of the app without BackJob vs with',
    unit: '×',
    digits: 2,
  },
  routeControlRatio: {
    label:
      'plain GET route: control, a second app without BackJob vs the first',
    unit: '×',
    digits: 2,
  },
  updateCallP99: { label: 'update() call p99', unit: 'µs', digits: 1 },
  clockReadP99: {
    label: 'the same calls, Date.now() alone (the floor), p99',
    unit: 'µs',
    digits: 1,
  },
  updateWrites: {
    label: 'store writes of one job at 1,000 update()/s',
    unit: 'writes/s',
    digits: 0,
  },
  updateLastStored: {
    label: 'last update() value stored',
    unit: '1 = yes',
    digits: 0,
  },
  crossInstanceP99: {
    label: 'progress seen on another instance, p99',
    unit: 'ms',
    digits: 1,
  },
  memoryPerJob: { label: 'memory per running job', unit: 'KB', digits: 1 },
  socketsPerJob: {
    label: 'sockets per running job',
    unit: 'sockets',
    digits: 2,
  },
  burstStartP99: {
    label: 'burst of 3,000 start(): start() p99',
    unit: 'ms',
    digits: 0,
  },
  burstPeakRss: { label: 'burst: peak RSS', unit: 'MB', digits: 0 },
  burstExactlyOnce: {
    label: 'burst: every job ran exactly once',
    unit: '1 = yes',
    digits: 0,
  },
  watchFirstP50: {
    label: 'watch(): first snapshot p50',
    unit: 'ms',
    digits: 3,
  },
  watchChangeP99: {
    label: 'watch(): local change delivered, p99',
    unit: 'ms',
    digits: 2,
  },
} as const satisfies Record<
  string,
  { label: string; unit: string; digits: number }
>;

export type FigureKey = keyof typeof FIGURES;

/** One value a child measured; for its run's system unless it names another. */
export interface Sample {
  figure: FigureKey;
  value: number;
  system?: string;
}

/** One line of bench/results.json. */
export interface FigureResult {
  system: string;
  figure: string;
  median: number;
  min: number;
  max: number;
  unit: string;
}
