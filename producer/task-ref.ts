import type { CancelTaskResult } from '../shared/group-protocol/group-scripts.ts';
import { taskJobId } from '../shared/keys.ts';

/**
 * A created task. `index` is its place in the group's creation order: results come back in that order.
 *
 * The producer numbers tasks as it creates them, synchronously. If a running task of the same group adds
 * a sibling at the very moment the producer is sending, Redis gives that sibling the next index and the
 * producer's unsent tasks move one place down: `index` and `id` are final once the task is sent
 * (`await tg.drain()`).
 */
export class TaskRef {
  readonly groupId: string;
  readonly name: string;
  readonly #epoch: string;
  #index: number;
  readonly #cancel: (ref: TaskRef, reason: string | undefined) => Promise<CancelTaskResult>;

  constructor(
    groupId: string,
    epoch: string,
    index: number,
    name: string,
    cancel: (ref: TaskRef, reason: string | undefined) => Promise<CancelTaskResult>,
  ) {
    this.groupId = groupId;
    this.#epoch = epoch;
    this.#index = index;
    this.name = name;
    this.#cancel = cancel;
  }

  get index(): number {
    return this.#index;
  }

  /** The BullMQ job id. */
  get id(): string {
    return taskJobId(this.groupId, this.#epoch, this.#index);
  }

  /**
   * Cancels this task only; the group goes on (asyncio's task.cancel()). A queued task never runs; a
   * running one sees `ctx.signal` abort. Resolves with what happened: `cancelled` (it had not started),
   * `aborting` (its worker was told), `noop` (already settled, or the group is stopping).
   */
  cancel(reason?: string): Promise<CancelTaskResult> {
    return this.#cancel(this, reason);
  }

  /** @internal Moves an unsent task down when a sibling took its index (see the class comment). */
  static shift(ref: TaskRef, delta: number): void {
    ref.#index += delta;
  }
}
