import { type CancelReason, cancelReason } from '../shared/cancel-reason.ts';
import { DuplicateGroupError, GroupNotOpenError, UnknownTaskError } from '../shared/errors.ts';
import type { CancelTaskResult } from '../shared/group-protocol/group-scripts.ts';
import type { GroupPolicy, GroupState, GroupStatus } from '../shared/group-protocol/group-state.ts';
import { newEpoch } from '../shared/keys.ts';
import { type TaskOutcome, toJson } from '../shared/task-codec.ts';
import { countGroup } from '../shared/telemetry/group-metrics.ts';
import type { GroupClient } from './group-client.ts';
import { GroupHandle, type WaitOptions } from './group-handle.ts';
import { groupResult, readOutcomes } from './group-results.ts';
import { GroupTrace } from './group-trace.ts';
import type { LeaseKeeper } from './lease-keeper.ts';
import { parseTaskName, type ResolvedGroupOptions, resolveTaskOptions, type TaskOptions } from './options.ts';
import { TaskRef } from './task-ref.ts';

/** fail-fast groups resolve with values; all-settled groups with every outcome. */
export type GroupResult<P extends GroupPolicy> = P extends 'all-settled' ? TaskOutcome[] : unknown[];

/** How a worker adapts a group it opens inside a task (ctx.taskGroup). */
export interface TaskGroupHooks {
  /** The running task that opens this group, `<groupId>.<index>`. */
  readonly parent?: string;
  /** Wraps waiting for the group, so the waiting task can give its worker slot back meanwhile. */
  readonly park?: <T>(waiting: Promise<T>) => Promise<T>;
}

interface PendingTask {
  readonly ref: TaskRef;
  readonly name: string;
  readonly data: unknown;
  readonly options: TaskOptions | undefined;
}

/**
 * asyncio.TaskGroup across a fleet. Created by `producer.taskGroup()`; `await using` it:
 *
 *   creating ──▶ open: createTask() buffers, a background pump sends batches
 *                  │ close() (or leaving the `await using` block): sends the rest, closes in Redis
 *                  ▼
 *               closed: wait() resolves when every task has settled
 *
 * A failure (fail-fast), cancel() or the deadline stops the group in Redis; from then on createTask()
 * throws GroupNotOpenError and unsent tasks are dropped, never half-sent.
 */
export class TaskGroup<P extends GroupPolicy = GroupPolicy> implements AsyncDisposable {
  readonly id: string;
  readonly name: string;
  readonly policy: P;
  /** Part of every job id of this group (see TaskRef.id). */
  readonly epoch: string;
  /** At most this many of its tasks run at once, fleet-wide (undefined: no group limit). */
  readonly maxConcurrency: number | undefined;
  readonly #client: GroupClient;
  readonly #leases: LeaseKeeper;
  readonly #handle: GroupHandle;
  readonly #hooks: TaskGroupHooks;
  readonly #created: Promise<void>;
  readonly #buffer: PendingTask[] = [];
  #next = 0;
  #pumping: Promise<void> | undefined;
  /** Why no more tasks can be added (stopped group, duplicate id, a Redis error while sending). */
  #refusal: Error | undefined;
  #closing: Promise<void> | undefined;
  /** Its producer lease is renewed by the LeaseKeeper (from its creation until close()). */
  #leased = false;
  /** close-group ran: the group will end by itself. */
  #closedInRedis = false;
  #result: Promise<GroupResult<P>> | undefined;
  #deadline: NodeJS.Timeout | undefined;
  readonly #trace: GroupTrace;
  /** The producer is waiting for the end: the group span ends with it, not at close(). */
  #waiting = false;

  /** Use `producer.taskGroup()`; the constructor is internal. */
  constructor(
    client: GroupClient,
    leases: LeaseKeeper,
    options: ResolvedGroupOptions,
    hooks: TaskGroupHooks = {},
  ) {
    this.#client = client;
    this.#leases = leases;
    this.#hooks = hooks;
    this.id = options.id;
    this.name = options.name;
    this.policy = options.policy as P;
    this.epoch = newEpoch();
    this.maxConcurrency = options.maxConcurrency;
    this.#handle = new GroupHandle(client, this.id, this.epoch);
    this.#trace = new GroupTrace({ ...options, queue: client.options.queue }, options.linkFrom);
    this.#created = this.#create(options);
    // Recorded for createTask/close/wait; never an unhandled rejection.
    this.#created.catch((error: unknown) => this.#refuse(error as Error));
    if (options.deadlineMs > 0) {
      // Precise local timer; worker maintenance enforces the deadline too, with no producer alive.
      this.#deadline = setTimeout(
        () => void this.#cancel(cancelReason('deadline', 'the group deadline passed')).catch(() => undefined),
        options.deadlineMs,
      );
      this.#deadline.unref();
    }
  }

  /** Resolves once the group exists in Redis; rejects with DuplicateGroupError if the id is taken. */
  ready(): Promise<void> {
    return this.#created;
  }

  /**
   * Adds a task, like asyncio's `tg.create_task()`. Synchronous: the task is validated now (name,
   * JSON-serializable data within the size limit, options) and sent in the next batch.
   */
  createTask(name: string, data?: unknown, options?: TaskOptions): TaskRef {
    if (this.#refusal !== undefined) throw this.#refusal;
    if (this.#closing !== undefined) throw new GroupNotOpenError(this.id, 'closed by its producer');
    const taskName = this.#checkName(name);
    toJson(data, `data of task \`${taskName}\``, this.#client.options.maxDataBytes);
    const taskOptions = resolveTaskOptions(options);
    const ref = new TaskRef(this.id, this.epoch, this.#next++, taskName, (r, reason) =>
      this.#cancelTask(r, reason),
    );
    this.#buffer.push({ ref, name: taskName, data, options: taskOptions });
    this.#pump();
    return ref;
  }

  /** Resolves when every task created so far has been sent to Redis (backpressure for long feeds). */
  async drain(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
    // A stopped group is not an error here: wait() reports why it stopped.
    if (this.#refusal !== undefined && !(this.#refusal instanceof GroupNotOpenError)) throw this.#refusal;
  }

  /** Tasks created but not sent yet. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /**
   * No more tasks from the producer (running tasks of the group may still add some). Idempotent. If
   * sending tasks failed (a Redis error), the group still ends: it is cancelled (`producer-error`) and
   * closed, and close() rejects with the error that stopped the sending.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        // Before anything else: a group with no tasks never sends, and must not close someone else's
        // group that holds its id (this one's create was refused with DuplicateGroupError).
        await this.#created;
        try {
          const unsent = await this.drain().then(
            () => undefined,
            (error: unknown) => error,
          );
          if (unsent !== undefined) {
            const message = unsent instanceof Error ? unsent.message : String(unsent);
            await this.#cancel(cancelReason('producer-error', `sending tasks failed: ${message}`)).catch(
              () => undefined,
            );
          }
          const { state, finished } = await this.#client.scripts.close(this.id, this.epoch);
          this.#closedInRedis = true;
          if (finished) countGroup(state);
          if (unsent !== undefined) throw unsent;
          if (!this.#waiting && state !== undefined) this.#trace.end({ state });
        } finally {
          // Also when closing failed: the lease then runs out, and maintenance cancels and closes the group.
          if (this.#leased) this.#leases.remove(this);
        }
      } catch (error) {
        if (!this.#waiting) this.#trace.end(undefined, error);
        throw error;
      }
    })();
    return this.#closing;
  }

  /**
   * Closes the group and waits for it to end, like leaving `async with TaskGroup()`. fail-fast: the results
   * in creation order, or GroupFailedError; all-settled: every outcome. Cancelled: GroupCancelledError.
   */
  wait(options: WaitOptions = {}): Promise<GroupResult<P>> {
    if (options.signal !== undefined) return this.#wait(options);
    // One outcome per group: waiting twice (or waiting, then leaving `await using`) reports it once.
    this.#result ??= this.#wait(options);
    return this.#result;
  }

  async #wait(options: WaitOptions): Promise<GroupResult<P>> {
    return groupResult(this.#client.scripts, await this.#final(options)) as Promise<GroupResult<P>>;
  }

  /** Closes the group, waits for it to end and returns every outcome, whatever the policy. */
  async settled(options: WaitOptions = {}): Promise<TaskOutcome[]> {
    return readOutcomes(this.#client.scripts, await this.#final(options));
  }

  /** Closes the group and waits for its final state (giving a worker slot back meanwhile, in a task). */
  async #final(options: WaitOptions): Promise<GroupStatus> {
    this.#waiting = true;
    try {
      await this.close().catch(async (error: unknown) => {
        // Sending failed, and the group was cancelled and closed: like asyncio, leave once its tasks
        // have settled, with the error that stopped the sending.
        if (this.#closedInRedis) await this.#untilFinal(options).catch(() => undefined);
        throw error;
      });
      const status = await this.#untilFinal(options);
      this.#trace.end(status);
      return status;
    } catch (error) {
      this.#trace.end(undefined, error);
      throw error;
    } finally {
      clearTimeout(this.#deadline);
    }
  }

  #untilFinal(options: WaitOptions): Promise<GroupStatus> {
    const waiting = this.#client.waitForFinal(this.id, options.signal, this.epoch);
    return this.#hooks.park === undefined ? waiting : this.#hooks.park(waiting);
  }

  /** Cancels the group everywhere: queued tasks never start, running ones see `ctx.signal` abort. */
  cancel(reason = 'cancelled'): Promise<GroupState> {
    return this.#cancel(cancelReason('user', reason));
  }

  async status(): Promise<GroupStatus> {
    await this.#created;
    return this.#handle.status();
  }

  /**
   * `await using tg = producer.taskGroup()`: leaving the block closes the group and waits for it, and
   * throws its failure — unless the block already called wait(), which reported it.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#result !== undefined) {
      await this.#result.catch(() => undefined);
      return;
    }
    await this.wait();
  }

  /** @internal Cancels with any reason (deadline, parent, producer-error). */
  async cancelWith(reason: CancelReason): Promise<GroupState> {
    return this.#cancel(reason);
  }

  async #cancel(reason: CancelReason): Promise<GroupState> {
    await this.#created;
    this.#refuse(new GroupNotOpenError(this.id, 'cancelling'));
    this.#trace.cancelled(reason);
    return this.#handle.cancelWith(reason);
  }

  async #create(options: ResolvedGroupOptions): Promise<void> {
    const created = await this.#client.scripts.create(this.id, {
      name: options.name,
      policy: options.policy,
      deadlineMs: options.deadlineMs,
      leaseMs: this.#client.options.leaseMs,
      retentionMs: options.retentionMs,
      parent: this.#hooks.parent ?? '',
      epoch: this.epoch,
      maxConcurrency: options.maxConcurrency ?? 0,
    });
    if (created === 'duplicate') throw new DuplicateGroupError(this.id);
    if (this.#closing === undefined) {
      this.#leases.add(this);
      this.#leased = true;
    }
  }

  #checkName(name: string): string {
    const taskName = parseTaskName(name);
    const known = this.#client.options.tasks;
    if (known !== undefined && !known.has(taskName)) throw new UnknownTaskError(taskName, [...known]);
    return taskName;
  }

  #refuse(error: Error): void {
    this.#refusal ??= error;
    this.#buffer.length = 0;
  }

  /** Sends buffered tasks in batches, one batch in flight at a time; what piles up meanwhile forms the next batch. */
  #pump(): void {
    if (this.#pumping !== undefined) return;
    this.#pumping = (async () => {
      try {
        await this.#created;
        while (this.#buffer.length > 0 && this.#refusal === undefined) {
          await this.#send(this.#buffer.splice(0, this.#client.options.batchSize));
        }
      } catch (error) {
        this.#refuse(error as Error);
      } finally {
        this.#pumping = undefined;
      }
    })();
  }

  async #send(batch: PendingTask[]): Promise<void> {
    const first = batch[0];
    if (first === undefined) return;
    const start = await this.#trace.send(batch.length, (trace) => this.#client.send(this, batch, trace));
    const delta = start - first.ref.index;
    if (delta !== 0) {
      // Running tasks added siblings meanwhile: this batch and everything after it move down.
      for (const task of batch) TaskRef.shift(task.ref, delta);
      for (const task of this.#buffer) TaskRef.shift(task.ref, delta);
      this.#next += delta;
    }
  }

  async #cancelTask(ref: TaskRef, reason: string | undefined): Promise<CancelTaskResult> {
    await this.drain();
    return this.#handle.cancelTask(ref.index, reason);
  }
}
