import type { Job } from 'bullmq';
import type { GroupClient, TaskJobData } from '../producer/group-client.ts';
import { GroupHandle } from '../producer/group-handle.ts';
import type { LeaseKeeper } from '../producer/lease-keeper.ts';
import {
  parseTaskName,
  resolveGroupOptions,
  resolveTaskOptions,
  type TaskGroupOptions,
  type TaskOptions,
} from '../producer/options.ts';
import { TaskGroup } from '../producer/task-group.ts';
import { TaskRef } from '../producer/task-ref.ts';
import { cancelReason } from '../shared/cancel-reason.ts';
import { TaskCancelledError } from '../shared/errors.ts';
import type { GroupPolicy } from '../shared/group-protocol/group-state.ts';
import { parseOptions, positiveInt } from '../shared/options.ts';
import type {
  Permit,
  SemaphoreAcquireOptions,
  SemaphoreStatus,
} from '../shared/semaphore/distributed-semaphore.ts';
import { toJson } from '../shared/task-codec.ts';
import { Attr, Span } from '../shared/telemetry/names.ts';
import { traced } from '../shared/telemetry/tracing.ts';
import type { AttemptPermits } from './attempt-permits.ts';
import type { GlobalLimits } from './global-limits.ts';
import type { SlotHolder, SlotPool } from './slot-pool.ts';
import type { TaskJob } from './task-job.ts';
import type { ThreadPool } from './thread-pool.ts';

/** What a handler gets besides its data: asyncio's task-local view of the world. */
export interface TaskContext {
  /**
   * Aborts when the task is cancelled (its group failed or was cancelled, the task alone was cancelled,
   * the deadline passed) with a TaskCancelledError as `signal.reason`; or when the worker shuts down
   * (the task then goes back to the queue). Pass it to everything that waits.
   */
  readonly signal: AbortSignal;
  readonly groupId: string;
  /** The task's BullMQ job id. */
  readonly taskId: string;
  /** The task's place in its group's creation order. */
  readonly index: number;
  /** The task name it was created with. */
  readonly name: string;
  /** 1 for the first attempt, 2 for the first retry ... */
  readonly attempt: number;
  /** Adds a sibling to this task's own group (asyncio: create_task on the enclosing TaskGroup). */
  createTask(name: string, data?: unknown, options?: TaskOptions): Promise<TaskRef>;
  /**
   * Opens a child group. Cancelling this task cancels the child; the child's failure, if not caught,
   * fails this task. While this task waits for the child, it gives its concurrency slot back.
   */
  taskGroup<P extends GroupPolicy = 'fail-fast'>(
    options?: TaskGroupOptions & { readonly policy?: P },
  ): TaskGroup<P>;
  /**
   * asyncio.to_thread: runs `exportName` of the module at `moduleUrl` (a file URL or absolute path) on a
   * worker thread with `args`, so CPU-bound work does not block this worker's event loop. Aborted with
   * `signal` (the thread is stopped).
   */
  toThread<R = unknown>(moduleUrl: string | URL, exportName: string, args?: readonly unknown[]): Promise<R>;
  /**
   * A fleet-wide semaphore (asyncio.Semaphore shared by every process). `limit` is set if it has none
   * yet (else the worker's `globalLimits` entry). Its acquire() aborts with ctx.signal, gives this task's
   * slot back while it waits, and what the task still holds when it ends is released.
   */
  semaphore(name: string, limit?: number): TaskSemaphore;
}

/** A fleet-wide semaphore seen from inside a task. */
export interface TaskSemaphore {
  readonly name: string;
  acquire(options?: SemaphoreAcquireOptions): Promise<Permit>;
  tryAcquire(options?: { readonly permits?: number }): Promise<Permit | undefined>;
  status(): Promise<SemaphoreStatus>;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers choose their own data type, like BullMQ processors
export type TaskHandler<D = any, R = unknown> = (data: D, ctx: TaskContext) => R | Promise<R>;

/** One attempt of one task on this worker. */
export interface Attempt {
  readonly job: Job<TaskJobData>;
  readonly task: TaskJob;
  /** 1-based. */
  readonly number: number;
  /** What the group's run hash holds for it while it runs (FinishRequest.token). */
  readonly runToken: string;
  readonly signal: AbortSignal;
  /** The concurrency slot it holds (changes when it parks). */
  readonly holder: SlotHolder;
  /** Child groups it opened: they do not outlive it. */
  readonly children: TaskGroup[];
  /** Fleet-wide permits it holds. */
  readonly permits: AttemptPermits;
}

export interface ContextDeps {
  readonly client: GroupClient;
  readonly leases: LeaseKeeper;
  readonly slots: SlotPool;
  readonly threads: ThreadPool;
  readonly limits: GlobalLimits;
  readonly maxDataBytes: number;
}

export function createTaskContext(deps: ContextDeps, attempt: Attempt): TaskContext {
  const { job, task, signal } = attempt;
  return {
    signal,
    groupId: task.groupId,
    taskId: job.id ?? '',
    index: task.index,
    name: job.name,
    attempt: attempt.number,
    createTask: (name, taskData, options) => createSibling(deps, task, name, taskData, options),
    taskGroup: (options) => openChild(deps, attempt, options ?? {}),
    toThread: <R>(moduleUrl: string | URL, exportName: string, args: readonly unknown[] = []) =>
      traced(Span.toThread, { [Attr.threadModule]: String(moduleUrl), [Attr.threadExport]: exportName }, () =>
        deps.threads.run<R>(moduleUrl, exportName, args, signal),
      ),
    semaphore: (name, limit) => taskSemaphore(deps, attempt, name, limit),
  };
}

function taskSemaphore(
  deps: ContextDeps,
  attempt: Attempt,
  name: string,
  limit: number | undefined,
): TaskSemaphore {
  const checkedLimit = limit === undefined ? undefined : parseOptions(positiveInt(), limit, 'limit');
  const semaphore = deps.limits.semaphore(name, checkedLimit);
  return {
    name: semaphore.name,
    acquire: async (options = {}) => {
      const ours = [attempt.signal, attempt.permits.ended];
      const signal = AbortSignal.any(options.signal === undefined ? ours : [options.signal, ...ours]);
      const permit = await deps.slots.parkForPermit(
        attempt.holder,
        semaphore.acquire({ ...options, signal }),
      );
      return attempt.permits.add(permit);
    },
    tryAcquire: async (options) => {
      const permit = await semaphore.tryAcquire(options);
      return permit === undefined ? undefined : attempt.permits.add(permit);
    },
    status: () => semaphore.status(),
  };
}

async function createSibling(
  deps: ContextDeps,
  task: TaskJob,
  name: string,
  taskData: unknown,
  options: TaskOptions | undefined,
): Promise<TaskRef> {
  const taskName = parseTaskName(name);
  toJson(taskData, `data of task \`${taskName}\``, deps.maxDataBytes);
  const taskOptions = resolveTaskOptions(options);
  const group = { id: task.groupId, epoch: task.epoch, maxConcurrency: task.maxConcurrency };
  const index = await deps.client.send(group, [{ name: taskName, data: taskData, options: taskOptions }]);
  const handle = new GroupHandle(deps.client, task.groupId);
  return new TaskRef(task.groupId, task.epoch, index, taskName, (ref, reason) =>
    handle.cancelTask(ref.index, reason),
  );
}

function openChild<P extends GroupPolicy>(
  deps: ContextDeps,
  attempt: Attempt,
  options: TaskGroupOptions & { readonly policy?: P },
): TaskGroup<P> {
  const { task, signal } = attempt;
  const child = new TaskGroup<P>(
    deps.client,
    deps.leases,
    resolveGroupOptions(options, deps.client.options),
    {
      parent: `${task.groupId}.${task.index}`,
      park: (waiting) => deps.slots.park(attempt.holder, waiting),
    },
  );
  attempt.children.push(child as TaskGroup);
  const cancelChild = (): void => {
    const why = signal.reason instanceof TaskCancelledError ? signal.reason.message : 'aborted';
    void child
      .cancelWith(cancelReason('parent', `the task that opened it was cancelled: ${why}`))
      .catch(() => undefined);
  };
  if (signal.aborted) cancelChild();
  else signal.addEventListener('abort', cancelChild, { once: true });
  return child;
}
