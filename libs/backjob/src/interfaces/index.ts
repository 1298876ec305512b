export * from './backjob-options.interface.js';
export * from './job-request.interface.js';
export * from './job-status.interface.js';
export * from './job-list.interface.js';
