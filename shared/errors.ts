import type { CancelKind, CancelReason, FailingTask } from './cancel-reason.ts';

/**
 * Every error taskfleet raises has a string `code`. Errors cross processes as data, so classify them
 * by `code` (or with `isTaskfleetError`), not by `instanceof`.
 */
export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  ArgumentRange: 'ARGUMENT_RANGE',
  TaskDataInvalid: 'TASK_DATA_INVALID',
  DataTooLarge: 'DATA_TOO_LARGE',
  UnknownTask: 'UNKNOWN_TASK',
  DuplicateGroup: 'DUPLICATE_GROUP',
  GroupNotFound: 'GROUP_NOT_FOUND',
  GroupNotOpen: 'GROUP_NOT_OPEN',
  GroupFailed: 'GROUP_FAILED',
  GroupCancelled: 'GROUP_CANCELLED',
  TaskFailed: 'TASK_FAILED',
  TaskCancelled: 'TASK_CANCELLED',
  TaskLost: 'TASK_LOST',
  ResultTooLarge: 'RESULT_TOO_LARGE',
  PermitLost: 'PERMIT_LOST',
  SemaphoreTimeout: 'SEMAPHORE_TIMEOUT',
  LimitNotSet: 'LIMIT_NOT_SET',
  SemaphoreNotFound: 'SEMAPHORE_NOT_FOUND',
  RedisUnreachable: 'REDIS_UNREACHABLE',
  RedisAuthFailed: 'REDIS_AUTH_FAILED',
  RedisTlsFailed: 'REDIS_TLS_FAILED',
  InputInvalid: 'INPUT_INVALID',
  KeyWrongType: 'KEY_WRONG_TYPE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface TaskfleetErrorLike {
  readonly code: ErrorCode;
  readonly message: string;
}

const CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export function isTaskfleetError(error: unknown): error is Error & TaskfleetErrorLike {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CODES.has(code);
}

/** Base of the plain (non-aggregate, non-argument) errors. */
export class TaskfleetError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option or argument of the wrong type or shape. */
export class InvalidArgumentError extends TypeError {
  readonly code = ErrorCode.InvalidArgument;
  override readonly name = 'InvalidArgumentError';
}

/** A number outside the allowed range (a limit that is not a positive integer, a negative timeout ...). */
export class ArgumentRangeError extends RangeError {
  readonly code = ErrorCode.ArgumentRange;
  override readonly name = 'ArgumentRangeError';
}

/** Task data (or a result) that JSON cannot carry faithfully. */
export class TaskDataError extends TypeError {
  readonly code = ErrorCode.TaskDataInvalid;
  override readonly name = 'TaskDataError';
}

export class DataTooLargeError extends RangeError {
  readonly code = ErrorCode.DataTooLarge;
  override readonly name = 'DataTooLargeError';
  readonly bytes: number;
  readonly limit: number;

  constructor(what: string, bytes: number, limit: number) {
    super(`${what} is ${bytes} bytes as JSON, over the limit of ${limit} bytes`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** No handler of that name: at createTask when the producer knows its task names, else on the worker. */
export class UnknownTaskError extends TaskfleetError {
  readonly taskName: string;

  constructor(taskName: string, known?: readonly string[]) {
    const list = known === undefined ? '' : ` (known: ${known.length === 0 ? 'none' : known.join(', ')})`;
    super(ErrorCode.UnknownTask, `Unknown task \`${taskName}\`${list}`);
    this.taskName = taskName;
  }
}

export class DuplicateGroupError extends TaskfleetError {
  readonly groupId: string;

  constructor(groupId: string) {
    super(ErrorCode.DuplicateGroup, `Group id \`${groupId}\` is already in use`);
    this.groupId = groupId;
  }
}

export class GroupNotFoundError extends TaskfleetError {
  readonly groupId: string;

  constructor(groupId: string) {
    super(ErrorCode.GroupNotFound, `Group \`${groupId}\` does not exist (or its retention expired)`);
    this.groupId = groupId;
  }
}

/** Adding to a group that is stopping or finished (asyncio: "TaskGroup is shutting down"). */
export class GroupNotOpenError extends TaskfleetError {
  readonly groupId: string;
  readonly state: string;

  constructor(groupId: string, state: string) {
    super(ErrorCode.GroupNotOpen, `Group \`${groupId}\` does not accept tasks: it is ${state}`);
    this.groupId = groupId;
    this.state = state;
  }
}

/** Where a task ran in its group; carried by the errors that are about one task. */
export interface TaskPosition {
  readonly groupId: string;
  readonly index: number;
  readonly taskId: string;
  readonly taskName: string;
}

/** An error as it travels between processes. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** One real failure of a task, after its last attempt, as the producer sees it. */
export class TaskFailedError extends TaskfleetError {
  readonly task: TaskPosition;
  /** The error the handler threw, as it crossed the wire. */
  readonly remote: SerializedError;

  constructor(task: TaskPosition, remote: SerializedError) {
    super(ErrorCode.TaskFailed, remote.message);
    this.task = task;
    this.remote = remote;
    const header = `TaskFailedError: task ${task.index} (${task.taskName}, ${task.taskId}) failed with ${remote.name}${remote.code === undefined ? '' : ` [${remote.code}]`}: ${remote.message}`;
    this.stack = remote.stack === undefined ? header : `${header}\n--- remote stack ---\n${remote.stack}`;
  }
}

/** asyncio's ExceptionGroup: the real failures of a fail-fast group; the cancellations they caused are only counted. */
export class GroupFailedError extends AggregateError {
  readonly code = ErrorCode.GroupFailed;
  override readonly name = 'GroupFailedError';
  readonly groupId: string;
  declare readonly errors: TaskFailedError[];
  /** How many tasks were cancelled because of the failures. */
  readonly cancelled: number;

  constructor(groupId: string, failures: TaskFailedError[], cancelled: number) {
    const first = failures[0];
    const what =
      first === undefined
        ? 'failed'
        : `task ${first.task.index} (${first.task.taskName}) failed: ${first.message}`;
    const more =
      failures.length > 1 ? ` (+${failures.length - 1} more failure${failures.length > 2 ? 's' : ''})` : '';
    super(failures, `Group ${groupId}: ${what}${more}; ${cancelled} cancelled`);
    this.groupId = groupId;
    this.cancelled = cancelled;
  }
}

export class GroupCancelledError extends TaskfleetError {
  readonly groupId: string;
  readonly reason: CancelReason;

  constructor(groupId: string, reason: CancelReason) {
    super(ErrorCode.GroupCancelled, `Group ${groupId} was cancelled (${reason.kind}): ${reason.message}`);
    this.groupId = groupId;
    this.reason = reason;
  }
}

/** The reason `ctx.signal` aborts with when a task is cancelled (asyncio's CancelledError). */
export class TaskCancelledError extends TaskfleetError {
  readonly kind: CancelKind;
  readonly reason: string;
  /** For a fail-fast cancellation: the task whose failure caused it. */
  readonly by: FailingTask | undefined;

  constructor(reason: CancelReason) {
    super(ErrorCode.TaskCancelled, `Task cancelled (${reason.kind}): ${reason.message}`);
    this.kind = reason.kind;
    this.reason = reason.message;
    this.by = reason.by;
  }
}

/** A task whose job vanished or was failed by BullMQ without running to an outcome (e.g. stalled too often). */
export class TaskLostError extends TaskfleetError {
  constructor(message: string) {
    super(ErrorCode.TaskLost, message);
  }
}

export class ResultTooLargeError extends TaskfleetError {
  constructor(bytes: number, limit: number) {
    super(
      ErrorCode.ResultTooLarge,
      `Task result is ${bytes} bytes as JSON, over the limit of ${limit} bytes`,
    );
  }
}

/**
 * A held permit's lease could not be kept (Redis unreachable for longer than the lease, or the lease had
 * already run out): someone else may hold the permits now. `permit.lost` aborts with it, and so does
 * the `ctx.signal` of a task holding the permit.
 */
export class PermitLostError extends TaskfleetError {
  readonly semaphore: string;

  constructor(semaphore: string, why: string) {
    super(ErrorCode.PermitLost, `Lost a permit of semaphore \`${semaphore}\`: ${why}`);
    this.semaphore = semaphore;
  }
}

/** acquire() waited `timeoutMs` without getting its permits; it left the queue. */
export class SemaphoreTimeoutError extends TaskfleetError {
  readonly semaphore: string;
  readonly timeoutMs: number;

  constructor(semaphore: string, timeoutMs: number) {
    super(
      ErrorCode.SemaphoreTimeout,
      `Timed out after ${timeoutMs} ms waiting for semaphore \`${semaphore}\``,
    );
    this.semaphore = semaphore;
    this.timeoutMs = timeoutMs;
  }
}

/** A semaphore used before anyone gave it a limit (`limit` option or setLimit). */
export class LimitNotSetError extends TaskfleetError {
  readonly semaphore: string;

  constructor(semaphore: string) {
    super(
      ErrorCode.LimitNotSet,
      `Semaphore \`${semaphore}\` has no limit yet: pass \`limit\` to its first user, or call setLimit()`,
    );
    this.semaphore = semaphore;
  }
}

/** A semaphore nobody has used or given a limit (what `taskfleet sem show` says of a mistyped name). */
export class SemaphoreNotFoundError extends TaskfleetError {
  readonly semaphore: string;

  constructor(semaphore: string) {
    super(ErrorCode.SemaphoreNotFound, `Semaphore \`${semaphore}\` does not exist (no limit, no holders)`);
    this.semaphore = semaphore;
  }
}

/** Redis did not answer in time (wrong URL, server down, network). */
export class RedisUnreachableError extends TaskfleetError {
  readonly url: string;

  constructor(url: string, why: string) {
    super(ErrorCode.RedisUnreachable, `Cannot reach Redis at ${url}: ${why}`);
    this.url = url;
  }
}

/** Redis refused the credentials (WRONGPASS, NOAUTH): retrying cannot help. `url` has no password. */
export class RedisAuthError extends TaskfleetError {
  readonly url: string;

  constructor(url: string, why: string) {
    super(ErrorCode.RedisAuthFailed, `Redis at ${url} refused the credentials: ${why}`);
    this.url = url;
  }
}

/** The TLS handshake failed (an unknown CA, a certificate for another host): retrying cannot help. */
export class RedisTlsError extends TaskfleetError {
  readonly url: string;

  constructor(url: string, why: string) {
    super(
      ErrorCode.RedisTlsFailed,
      `TLS connection to Redis at ${url} failed: ${why} (a private CA is given with \`tls: { ca }\` or NODE_EXTRA_CA_CERTS)`,
    );
    this.url = url;
  }
}

/**
 * Input from outside a program that taskfleet cannot use: a task file that is missing or not JSON, a
 * tasks module that does not load. The message says where (file and line).
 */
export class InvalidInputError extends TaskfleetError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.InputInvalid, message, options);
  }
}

/**
 * A key taskfleet owns holds a value of another type (someone wrote to it: a `SET` where a group's hash
 * or a semaphore's zset belongs). Only the group or semaphore of that key fails; nothing is overwritten.
 */
export class KeyTypeError extends TaskfleetError {
  readonly keys: readonly string[];

  constructor(keys: readonly string[], options?: ErrorOptions) {
    super(
      ErrorCode.KeyWrongType,
      `A Redis key of taskfleet's holds a value of the wrong type (written by something else?): one of ${keys.join(', ')}`,
      options,
    );
    this.keys = keys;
  }

  /** Redis's WRONGTYPE reply (also when a Lua script hit it) as a KeyTypeError; other errors unchanged. */
  static wrap(error: unknown, keys: readonly string[]): unknown {
    return error instanceof Error && /\bWRONGTYPE\b/.test(error.message)
      ? new KeyTypeError(keys, { cause: error })
      : error;
  }
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    };
  }
  return { name: 'NonError', message: String(error) };
}
