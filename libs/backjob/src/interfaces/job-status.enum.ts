// The statuses are a rule of the job's life: they live in the lifecycle unit.
export { isFinalStatus, JobStatus } from '../lifecycle/job-lifecycle.js';
