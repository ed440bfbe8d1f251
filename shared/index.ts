/** taskfleet/shared: what producers and workers both use — errors, reasons, states, semaphores. */
export type { CancelKind, CancelReason, FailingTask } from './cancel-reason.ts';
export type { ConnectionInput } from './connection.ts';
export { defaults } from './defaults.ts';
export {
  ArgumentRangeError,
  DataTooLargeError,
  DuplicateGroupError,
  ErrorCode,
  GroupCancelledError,
  GroupFailedError,
  GroupNotFoundError,
  GroupNotOpenError,
  InvalidArgumentError,
  InvalidInputError,
  isTaskfleetError,
  KeyTypeError,
  LimitNotSetError,
  PermitLostError,
  RedisAuthError,
  RedisTlsError,
  RedisUnreachableError,
  ResultTooLargeError,
  SemaphoreNotFoundError,
  SemaphoreTimeoutError,
  type SerializedError,
  TaskCancelledError,
  TaskDataError,
  TaskFailedError,
  TaskLostError,
  type TaskPosition,
  UnknownTaskError,
} from './errors.ts';
export type { CancelTaskResult } from './group-protocol/group-scripts.ts';
export type {
  FinalState,
  GroupCounts,
  GroupPolicy,
  GroupState,
  GroupStatus,
} from './group-protocol/group-state.ts';
export { type AcquireOptions, type LocalPermit, LocalSemaphore } from './local-semaphore.ts';
export {
  DistributedSemaphore,
  type DistributedSemaphoreOptions,
  type Permit,
  type SemaphoreAcquireOptions,
  type SemaphoreStatus,
} from './semaphore/distributed-semaphore.ts';
export type { HolderEntry, WaiterEntry, WaitSummary } from './semaphore/semaphore-scripts.ts';
export type { TaskOutcome } from './task-codec.ts';
