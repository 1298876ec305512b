export * from './backjob-live-options.interface.js';
export * from './backjob-live.module.js';
export * from './dashboard/dashboard.interface.js';
export * from './job-events.js';
