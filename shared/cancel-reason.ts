/**
 * Why a group or a task was cancelled. It travels from the canceller to every worker (pub/sub and the
 * group's durable state), so it is plain data.
 */
export type CancelKind =
  /** A sibling failed in a fail-fast group. */
  | 'failure'
  /** Someone called cancel() (producer, CLI, another process). */
  | 'user'
  /** The group's deadline passed. */
  | 'deadline'
  /** The task that opened this (child) group was cancelled or ended. */
  | 'parent'
  /** The group's producer stopped renewing its lease before closing the group. */
  | 'producer-lost'
  /** The code inside the producer's group block threw. */
  | 'producer-error'
  /** This one task was cancelled; its group goes on. */
  | 'task'
  /** Its worker is shutting down: the task goes back to the queue and runs again elsewhere. */
  | 'shutdown';

export interface FailingTask {
  readonly groupId: string;
  readonly index: number;
  readonly taskId: string;
  readonly taskName: string;
  /** The failing attempt's span (W3C traceparent), for the cancelled siblings' span links. */
  readonly traceparent?: string;
}

export interface CancelReason {
  readonly kind: CancelKind;
  readonly message: string;
  /** For `failure`: the task whose failure cancelled the group. */
  readonly by?: FailingTask;
}

/** Every cancel kind a worker accepts on the cancel channel. */
export const CANCEL_KINDS: ReadonlySet<string> = new Set<CancelKind>([
  'failure',
  'user',
  'deadline',
  'parent',
  'producer-lost',
  'producer-error',
  'task',
  'shutdown',
]);

export function cancelReason(kind: CancelKind, message: string, by?: FailingTask): CancelReason {
  return by === undefined ? { kind, message } : { kind, message, by };
}

/** Reads a reason that came over the wire; anything malformed yields undefined, never a throw. */
export function parseCancelReason(value: unknown): CancelReason | undefined {
  if (typeof value === 'string') {
    try {
      return parseCancelReason(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, message, by } = value as Record<string, unknown>;
  if (typeof kind !== 'string' || !CANCEL_KINDS.has(kind) || typeof message !== 'string') return undefined;
  const failing = parseFailingTask(by);
  return cancelReason(kind as CancelKind, message, failing);
}

function parseFailingTask(value: unknown): FailingTask | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { groupId, index, taskId, taskName, traceparent } = value as Record<string, unknown>;
  if (
    typeof groupId !== 'string' ||
    typeof index !== 'number' ||
    typeof taskId !== 'string' ||
    typeof taskName !== 'string'
  ) {
    return undefined;
  }
  return typeof traceparent === 'string'
    ? { groupId, index, taskId, taskName, traceparent }
    : { groupId, index, taskId, taskName };
}
