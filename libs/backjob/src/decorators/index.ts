export * from './background-worker.decorator.js';
