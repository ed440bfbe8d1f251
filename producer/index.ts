/** taskfleet/producer: create task groups, attach to them, wait for them, cancel them. */
export { GroupHandle, type WaitOptions } from './group-handle.ts';
export type { KeepJobs, ProducerOptions, TaskGroupOptions, TaskOptions } from './options.ts';
export { Producer } from './producer.ts';
export { type GroupResult, TaskGroup } from './task-group.ts';
export { TaskRef } from './task-ref.ts';
