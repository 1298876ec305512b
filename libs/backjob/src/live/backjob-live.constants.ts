/** Injection token of the checked `BackJobLiveOptions`. */
export const BACKJOB_LIVE_OPTIONS = 'BACKJOB_LIVE_OPTIONS';

/** The defaults of the options of `BackJobLiveModule` that have one. */
export const BACKJOB_LIVE_DEFAULTS = {
  dashboard: false,
} as const;
