import { type CancelReason, cancelReason } from '../shared/cancel-reason.ts';
import { GroupNotFoundError } from '../shared/errors.ts';
import type { CancelTaskResult } from '../shared/group-protocol/group-scripts.ts';
import type { GroupState, GroupStatus } from '../shared/group-protocol/group-state.ts';
import type { TaskOutcome } from '../shared/task-codec.ts';
import { countGroup } from '../shared/telemetry/group-metrics.ts';
import type { GroupClient } from './group-client.ts';
import { groupResult, readOutcomes } from './group-results.ts';

export interface WaitOptions {
  /** Stop waiting (the group goes on). */
  readonly signal?: AbortSignal;
}

/**
 * A group seen from any process, by id: `producer.group(id)`. Reads its status, waits for its end and
 * cancels it; it does not add tasks or close it (that is its producer's job).
 */
export class GroupHandle {
  readonly id: string;
  readonly #client: GroupClient;
  /**
   * Set for its own producer's handle (TaskGroup): it acts on that incarnation of the id only, never on
   * a group created again under the same id after this one expired. "" (by id): whichever exists.
   */
  readonly #epoch: string;

  constructor(client: GroupClient, id: string, epoch = '') {
    this.#client = client;
    this.id = id;
    this.#epoch = epoch;
  }

  async status(): Promise<GroupStatus> {
    const status = await this.#client.scripts.status(this.id);
    if (status === undefined || (this.#epoch !== '' && status.epoch !== this.#epoch)) {
      throw new GroupNotFoundError(this.id);
    }
    return status;
  }

  /**
   * Waits until the group is final. fail-fast: the results in creation order, or GroupFailedError;
   * all-settled: every outcome. A cancelled group throws GroupCancelledError.
   */
  async wait(options: WaitOptions = {}): Promise<unknown[] | TaskOutcome[]> {
    return groupResult(
      this.#client.scripts,
      await this.#client.waitForFinal(this.id, options.signal, this.#epoch),
    );
  }

  /** Waits until the group is final and returns every task's outcome, whatever the policy; never throws for failures. */
  async settled(options: WaitOptions = {}): Promise<TaskOutcome[]> {
    return readOutcomes(
      this.#client.scripts,
      await this.#client.waitForFinal(this.id, options.signal, this.#epoch),
    );
  }

  /**
   * Cancels the group from anywhere: queued tasks never start, running ones see `ctx.signal` abort with
   * the reason. Resolves with the group's state afterwards (a group already stopping or final is left as it is).
   */
  cancel(reason = 'cancelled'): Promise<GroupState> {
    return this.cancelWith(cancelReason('user', reason));
  }

  /** Cancels with a reason of any kind (a worker cancelling a child group uses `parent`). */
  async cancelWith(reason: CancelReason): Promise<GroupState> {
    const { state, finished } = await this.#client.scripts.cancel(this.id, reason, this.#epoch);
    if (state === undefined) throw new GroupNotFoundError(this.id);
    if (finished) countGroup(state);
    return state;
  }

  /** Cancels one task by index; the group goes on. */
  async cancelTask(index: number, reason = 'cancelled'): Promise<CancelTaskResult> {
    const result = await this.#client.scripts.cancelTask(
      this.id,
      index,
      cancelReason('task', reason),
      this.#epoch,
    );
    if (result === 'missing') throw new GroupNotFoundError(this.id);
    return result;
  }
}
