// The statuses are rules of the lifecycle, kept there with the others.
export { JobStatus } from '../lifecycle/job-lifecycle.js';
