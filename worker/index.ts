/** taskfleet/worker: run task handlers for the fleet. */
export { FleetWorker } from './fleet-worker.ts';
export type { FleetWorkerOptions, Logger } from './options.ts';
export type { TaskContext, TaskHandler } from './task-context.ts';
export type { TaskDefinitionOptions } from './task-registry.ts';
export { loadTasksModule, type TaskModuleEntry } from './tasks-module.ts';
