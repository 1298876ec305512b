export * from './backjob-live-options.interface.js';
export * from './backjob-live.module.js';
export * from './job-events.js';
