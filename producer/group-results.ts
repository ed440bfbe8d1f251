import { cancelReason } from '../shared/cancel-reason.ts';
import { GroupCancelledError, GroupFailedError, type TaskFailedError } from '../shared/errors.ts';
import type { GroupScripts } from '../shared/group-protocol/group-scripts.ts';
import type { GroupStatus } from '../shared/group-protocol/group-state.ts';
import { taskJobId } from '../shared/keys.ts';
import { cancelledOutcome, decodeOutcome, type TaskOutcome } from '../shared/task-codec.ts';

/** Outcomes are read in slices of this many tasks: one HMGET each, so a huge group never makes one huge reply. */
const SLICE = 1000;
/** Slices requested at once: a big group's results take a few round trips, not one per slice. */
const SLICES_IN_FLIGHT = 8;

/** Every task's outcome, in creation order. A task without a stored outcome was cancelled before it started. */
export async function readOutcomes(scripts: GroupScripts, status: GroupStatus): Promise<TaskOutcome[]> {
  const notStarted = cancelledOutcome(status.reason ?? cancelReason('user', 'the group was cancelled'));
  const epoch = status.epoch;
  const total = status.counts.total;
  const outcomes: TaskOutcome[] = new Array(total);
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < total) {
      const from = next;
      next += SLICE;
      const raws = await scripts.outcomes(status.id, from, Math.min(SLICE, total - from));
      raws.forEach((raw, k) => {
        outcomes[from + k] =
          raw === null ? notStarted : decodeOutcome(raw, () => position(status.id, epoch, from + k));
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(SLICES_IN_FLIGHT, Math.ceil(total / SLICE)) }, reader));
  return outcomes;
}

/** The real failures of a failed group, in the order they happened. */
export async function readFailure(scripts: GroupScripts, status: GroupStatus): Promise<GroupFailedError> {
  const indexes = await scripts.failures(status.id);
  const epoch = status.epoch;
  const failures: TaskFailedError[] = [];
  for (let from = 0; from < indexes.length; from += SLICE) {
    const slice = indexes.slice(from, from + SLICE);
    const raws = await scripts.outcomesAt(status.id, slice);
    raws.forEach((raw, k) => {
      const index = slice[k] ?? 0;
      if (raw === null) return;
      const outcome = decodeOutcome(raw, () => position(status.id, epoch, index));
      if (outcome.status === 'rejected') failures.push(outcome.reason);
    });
  }
  return new GroupFailedError(status.id, failures, status.counts.cancelled);
}

/**
 * What waiting on a finished group gives, asyncio-style:
 * - cancelled: throws GroupCancelledError with the reason;
 * - fail-fast: the values in creation order (undefined for a task cancelled on its own), or throws
 *   GroupFailedError with the real failures;
 * - all-settled: every outcome, like Promise.allSettled / gather(return_exceptions=True).
 */
export async function groupResult(
  scripts: GroupScripts,
  status: GroupStatus,
): Promise<unknown[] | TaskOutcome[]> {
  if (status.state === 'cancelled') {
    throw new GroupCancelledError(
      status.id,
      status.reason ?? cancelReason('user', 'the group was cancelled'),
    );
  }
  if (status.policy === 'all-settled') return readOutcomes(scripts, status);
  if (status.state === 'failed') throw await readFailure(scripts, status);
  const outcomes = await readOutcomes(scripts, status);
  return outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined));
}

function position(groupId: string, epoch: string, index: number) {
  return { groupId, index, taskId: taskJobId(groupId, epoch, index) };
}
