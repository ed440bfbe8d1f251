import { cancelReason } from '../shared/cancel-reason.ts';
import { serializeError, TaskLostError } from '../shared/errors.ts';
import { isActive, isFinal } from '../shared/group-protocol/group-state.ts';
import { parseTaskJobId, taskJobId } from '../shared/keys.ts';
import { encodeError } from '../shared/task-codec.ts';
import type { GroupStore } from './maintenance.ts';

const SLICE = 1000;

/**
 * Drives a stuck group to its end. A task can lose its BullMQ job without an outcome reaching the
 * group: BullMQ failed it for stalling too often (its worker kept dying), someone removed the job, or a
 * process died between allocating a task and adding its job. Such a task is settled as failed with
 * TaskLostError (or, in a group already stopping, as cancelled), so the group can finish.
 */
export class Reconciler {
  readonly #client: GroupStore;
  readonly #staleMs: number;

  /** @param staleMs how long a group must have made no progress before its tasks may be judged lost. */
  constructor(client: GroupStore, staleMs: number) {
    this.#client = client;
    this.#staleMs = staleMs;
  }

  /** Returns how many lost tasks it settled. */
  async reconcile(groupId: string): Promise<number> {
    const { scripts } = this.#client;
    const seen = await scripts.statusAndIdle(groupId);
    if (seen === undefined || isFinal(seen.status.state)) return 0;
    // A sender allocates indexes first and adds their jobs after (GroupClient.send): a job may be on
    // its way. Allocating is progress (add-tasks), so in a group idle for staleMs as of this read,
    // every index below this total was allocated at least staleMs ago; later ones are not looked at.
    if (seen.idleMs < this.#staleMs) return 0;
    const { status } = seen;
    const running = new Set(Object.keys(await scripts.running(groupId)).map(Number));
    const candidates = [...running];
    if (isActive(status.state)) {
      for (let from = 0; from < status.counts.total; from += SLICE) {
        const raws = await scripts.outcomes(groupId, from, Math.min(SLICE, status.counts.total - from));
        raws.forEach((raw, k) => {
          if (raw === null && !running.has(from + k)) candidates.push(from + k);
        });
      }
    }
    let settled = 0;
    for (let from = 0; from < candidates.length; from += SLICE) {
      for (const lost of await this.#lostJobs(groupId, status.epoch, candidates.slice(from, from + SLICE))) {
        settled += await this.#settleLost(
          groupId,
          status.epoch,
          lost.index,
          lost.name,
          lost.why,
          isActive(status.state),
        );
      }
    }
    return settled;
  }

  /** Checks one task by its job id (after BullMQ failed the job on its own). */
  async checkJob(jobId: string): Promise<void> {
    const place = parseTaskJobId(jobId);
    if (place === undefined) return;
    const { groupId, epoch, index } = place;
    const status = await this.#client.scripts.status(groupId);
    // A job of another epoch is left from an earlier group of that id: it says nothing about this one.
    if (status === undefined || status.epoch !== epoch || isFinal(status.state)) return;
    for (const lost of await this.#lostJobs(groupId, epoch, [index])) {
      await this.#settleLost(groupId, epoch, lost.index, lost.name, lost.why, isActive(status.state));
    }
  }

  async #lostJobs(groupId: string, epoch: string, indexes: readonly number[]) {
    const pipeline = this.#client.redis.pipeline();
    for (const index of indexes) {
      pipeline.hmget(
        this.#client.keys.job(taskJobId(groupId, epoch, index)),
        'name',
        'finishedOn',
        'failedReason',
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    const lost: { index: number; name: string; why: string }[] = [];
    indexes.forEach((index, k) => {
      const [name, finishedOn, failedReason] = (replies[k]?.[1] ?? []) as (string | null)[];
      if (name === null || name === undefined)
        lost.push({ index, name: '', why: 'its job no longer exists' });
      else if (finishedOn !== null && finishedOn !== undefined) {
        lost.push({
          index,
          name,
          why: `BullMQ finished its job without an outcome: ${failedReason ?? 'completed'}`,
        });
      }
    });
    return lost;
  }

  async #settleLost(
    groupId: string,
    epoch: string,
    index: number,
    name: string,
    why: string,
    active: boolean,
  ): Promise<number> {
    const { scripts } = this.#client;
    if (!active)
      return (await scripts.finishTask(groupId, epoch, index, 'release', '', undefined)).recorded === 1
        ? 1
        : 0;
    const error = new TaskLostError(`task ${index} was lost: ${why}`);
    const failReason = cancelReason('failure', error.message, {
      groupId,
      index,
      taskId: '',
      taskName: name,
    });
    const result = await scripts.finishTask(
      groupId,
      epoch,
      index,
      'err',
      encodeError(serializeError(error), name),
      failReason,
    );
    return result.recorded === 1 ? 1 : 0;
  }
}
