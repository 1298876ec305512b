export * from './backjob-configuration.error.js';
export * from './invalid-job-request.error.js';
export * from './job-failed.exception.js';
