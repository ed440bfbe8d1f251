import { type CancelReason, parseCancelReason } from './cancel-reason.ts';
import {
  DataTooLargeError,
  type SerializedError,
  TaskCancelledError,
  TaskDataError,
  TaskFailedError,
  type TaskPosition,
} from './errors.ts';

/**
 * How task data, results, errors and cancellations are written to Redis.
 * An outcome is one string in the group's `out` hash: `v<json>` (a value; `v` alone for undefined),
 * `e<json>` (a serialized error) or `c<json>` (a cancel reason).
 */

export type TaskOutcome<T = unknown> =
  | { readonly status: 'fulfilled'; readonly value: T }
  | { readonly status: 'rejected'; readonly reason: TaskFailedError }
  | { readonly status: 'cancelled'; readonly reason: TaskCancelledError };

/** Values JSON would silently change or drop, which we refuse instead. */
function strictReplacer(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'function':
    case 'symbol':
    case 'bigint':
      throw new TaskDataError(`${where(key)} is a ${typeof value}, which JSON cannot carry`);
    case 'number':
      if (!Number.isFinite(value))
        throw new TaskDataError(`${where(key)} is ${value}, which JSON turns into null`);
      return value;
    case 'object':
      if (
        value instanceof Map ||
        value instanceof Set ||
        ArrayBuffer.isView(value) ||
        value instanceof ArrayBuffer
      ) {
        throw new TaskDataError(`${where(key)} is a ${value.constructor.name}, which JSON turns into {}`);
      }
      return value;
    case 'undefined':
      // Dropped from an object (an absent optional field), but turned into null in an array.
      if (Array.isArray(this))
        throw new TaskDataError(`${where(key)} is undefined, which JSON turns into null`);
      return value;
    default:
      return value;
  }
}

function where(key: string): string {
  return key === '' ? 'the value' : `property \`${key}\``;
}

/**
 * JSON text of a value, refusing what JSON cannot carry faithfully (functions, symbols, BigInt, NaN and
 * ±Infinity, Map, Set, typed arrays, cycles, undefined in an array) and what is over `maxBytes`.
 * `undefined` gives `undefined` (no data); an undefined object property is dropped, as JSON does.
 */
export function toJson(value: unknown, what: string, maxBytes: number): string | undefined {
  if (value === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value, strictReplacer);
  } catch (error) {
    if (error instanceof TaskDataError) throw new TaskDataError(`${what}: ${error.message}`);
    throw new TaskDataError(`${what} does not serialize to JSON: ${(error as Error).message}`);
  }
  if (json === undefined) return undefined;
  // Byte length only matters near the limit; string length is a lower bound and cheap.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) throw new DataTooLargeError(what, bytes, maxBytes);
  }
  return json;
}

export function encodeValue(json: string | undefined): string {
  return json === undefined ? 'v' : `v${json}`;
}

/** A failure, with the name of the task that failed (outcomes do not store it otherwise). */
export function encodeError(error: SerializedError, taskName: string): string {
  return `e${JSON.stringify({ ...error, task: taskName })}`;
}

export function encodeCancelled(reason: CancelReason): string {
  return `c${JSON.stringify(reason)}`;
}

/** Decodes an outcome string. A task with no stored outcome in a stopped group was cancelled there. */
/** `position` is only called for a failure (a group of a million results builds no positions). */
export function decodeOutcome(raw: string, position: () => Omit<TaskPosition, 'taskName'>): TaskOutcome {
  const tag = raw[0];
  const body = raw.slice(1);
  if (tag === 'v') return { status: 'fulfilled', value: body === '' ? undefined : JSON.parse(body) };
  if (tag === 'e') {
    const [error, taskName] = parseSerializedError(body);
    return { status: 'rejected', reason: new TaskFailedError({ ...position(), taskName }, error) };
  }
  return { status: 'cancelled', reason: new TaskCancelledError(parseTaskCancel(body)) };
}

export function cancelledOutcome(reason: CancelReason): TaskOutcome {
  return { status: 'cancelled', reason: new TaskCancelledError(reason) };
}

function parseSerializedError(body: string): [SerializedError, string] {
  try {
    const parsed = JSON.parse(body) as Partial<SerializedError> & { task?: unknown };
    const error = {
      name: typeof parsed.name === 'string' ? parsed.name : 'Error',
      message: typeof parsed.message === 'string' ? parsed.message : '',
      ...(typeof parsed.code === 'string' ? { code: parsed.code } : {}),
      ...(typeof parsed.stack === 'string' ? { stack: parsed.stack } : {}),
    };
    return [error, typeof parsed.task === 'string' ? parsed.task : ''];
  } catch {
    return [{ name: 'Error', message: body }, ''];
  }
}

function parseTaskCancel(body: string): CancelReason {
  return parseCancelReason(body) ?? { kind: 'task', message: 'cancelled' };
}
