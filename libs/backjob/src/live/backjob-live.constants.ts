/** Injection token of the checked `BackJobLiveOptions`. */
export const BACKJOB_LIVE_OPTIONS = 'BACKJOB_LIVE_OPTIONS';
