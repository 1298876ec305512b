export * from './backjob-configuration.error.js';
export * from './backjob-shutdown.error.js';
export * from './invalid-job-request.error.js';
export * from './job-aborted.error.js';
export * from './job-failed.exception.js';
export * from './job-not-found.error.js';
export * from './job-store-unavailable.error.js';
export * from './job-watch-stopped.error.js';
