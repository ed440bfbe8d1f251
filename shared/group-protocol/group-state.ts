import { type CancelReason, parseCancelReason } from '../cancel-reason.ts';

/**
 * A group's life:
 *
 *   open ──close──▶ closed ──last task settles──▶ succeeded | failed (all-settled with failures)
 *     │               │
 *     │ failure (fail-fast), cancel, deadline, producer lost
 *     ▼               ▼
 *   failing / cancelling ──closed and no task running──▶ failed / cancelled
 *
 * `closed` is also a flag: a stopping group finishes only once its producer has closed it (or its
 * lease ran out), like asyncio's TaskGroup, which ends only when the `async with` block is left.
 */
export type GroupState = 'open' | 'closed' | 'failing' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled';

export type GroupPolicy = 'fail-fast' | 'all-settled';

export type FinalState = 'succeeded' | 'failed' | 'cancelled';

const STATES: ReadonlySet<string> = new Set<GroupState>([
  'open',
  'closed',
  'failing',
  'cancelling',
  'succeeded',
  'failed',
  'cancelled',
]);

export function isGroupState(value: unknown): value is GroupState {
  return typeof value === 'string' && STATES.has(value);
}

export function isFinal(state: GroupState): state is FinalState {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** Accepts tasks: not stopping, not finished. */
export function isActive(state: GroupState): state is 'open' | 'closed' {
  return state === 'open' || state === 'closed';
}

export interface GroupCounts {
  /** Tasks created so far. */
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  /** Tasks whose handler is running right now, on any worker. */
  readonly running: number;
  /** Created, not settled, not running: queued, waiting for a retry, or not yet sent. */
  readonly pending: number;
}

export interface GroupStatus {
  readonly id: string;
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly state: GroupState;
  /** The producer has closed the group (no more tasks from it). */
  readonly closed: boolean;
  readonly counts: GroupCounts;
  /** Redis time, ms since the epoch. */
  readonly createdAt: number;
  readonly finishedAt: number | undefined;
  readonly deadlineAt: number | undefined;
  /** Why the group is stopping or stopped (fail-fast failure, cancel, deadline ...). */
  readonly reason: CancelReason | undefined;
  /** The task that opened this group, as `<groupId>.<index>`, for a child group. */
  readonly parent: string | undefined;
  /** Part of the group's job ids (see keys.ts taskJobId). */
  readonly epoch: string;
  /** At most this many tasks of the group run at once, fleet-wide. */
  readonly maxConcurrency: number | undefined;
}

/** Builds a status from the meta hash (HGETALL) and the number of running tasks. */
export function parseStatus(
  id: string,
  meta: Record<string, string>,
  running: number,
): GroupStatus | undefined {
  const state = meta.state;
  if (!isGroupState(state)) return undefined;
  const num = (field: string): number => Number(meta[field] ?? 0);
  const total = num('total');
  const succeeded = num('ok');
  const failed = num('err');
  const cancelled = num('cxl');
  const optional = (field: string): number | undefined => (num(field) > 0 ? num(field) : undefined);
  return {
    id,
    name: meta.name ?? '',
    policy: meta.policy === 'all-settled' ? 'all-settled' : 'fail-fast',
    state,
    closed: meta.closed === '1',
    counts: {
      total,
      succeeded,
      failed,
      cancelled,
      running,
      pending: Math.max(0, total - succeeded - failed - cancelled - running),
    },
    createdAt: num('createdAt'),
    finishedAt: optional('finishedAt'),
    deadlineAt: optional('deadlineAt'),
    reason: meta.reason === undefined ? undefined : parseCancelReason(meta.reason),
    parent: meta.parent === undefined || meta.parent === '' ? undefined : meta.parent,
    epoch: meta.epoch ?? '',
    maxConcurrency: optional('maxc'),
  };
}
