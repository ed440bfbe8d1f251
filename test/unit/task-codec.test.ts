import { describe, expect, test } from 'vitest';
import { cancelReason, parseCancelReason } from '../../shared/cancel-reason.ts';
import {
  DataTooLargeError,
  TaskCancelledError,
  TaskDataError,
  TaskFailedError,
} from '../../shared/errors.ts';
import { decodeOutcome, encodeCancelled, encodeError, encodeValue, toJson } from '../../shared/task-codec.ts';

const at = { groupId: 'g', index: 3, taskId: 'g.e.3' };

describe('toJson', () => {
  test('accepts plain JSON values and undefined (no data)', () => {
    expect(toJson({ a: [1, 'x', null, true] }, 'data', 100)).toBe('{"a":[1,"x",null,true]}');
    expect(toJson(undefined, 'data', 100)).toBeUndefined();
    expect(toJson(new Date(0), 'data', 100)).toBe('"1970-01-01T00:00:00.000Z"');
  });

  test.each([
    ['a function', { f: () => 1 }, /property `f` is a function/],
    ['a BigInt', 1n, /the value is a bigint/],
    ['NaN', { n: Number.NaN }, /NaN, which JSON turns into null/],
    ['Infinity', [Number.POSITIVE_INFINITY], /Infinity/],
    ['a Map', new Map([[1, 2]]), /a Map, which JSON turns into \{\}/],
    ['a Set', { s: new Set() }, /a Set/],
    ['a typed array', { b: new Uint8Array(2) }, /Uint8Array/],
    ['a symbol', { s: Symbol('x') }, /symbol/],
    ['undefined in an array', { list: [1, undefined] }, /undefined, which JSON turns into null/],
  ])('refuses %s with TaskDataError', (_what, value, message) => {
    expect(() => toJson(value, 'data of task `t`', 1000)).toThrow(TaskDataError);
    expect(() => toJson(value, 'data of task `t`', 1000)).toThrow(message);
  });

  test('drops an undefined object property, as JSON does (an absent optional field)', () => {
    expect(toJson({ a: 1, b: undefined }, 'data', 100)).toBe('{"a":1}');
  });

  test('refuses cycles', () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(() => toJson(cyclic, 'data', 1000)).toThrow(/does not serialize to JSON/);
  });

  test('counts bytes, not characters, against the limit', () => {
    expect(toJson('é'.repeat(4), 'data', 10)).toBe('"éééé"');
    const error = (() => {
      try {
        toJson('é'.repeat(5), 'data', 10);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DataTooLargeError);
    expect(error).toMatchObject({
      bytes: 12,
      limit: 10,
      message: 'data is 12 bytes as JSON, over the limit of 10 bytes',
    });
  });
});

describe('outcomes', () => {
  test('a value round-trips, undefined included', () => {
    expect(decodeOutcome(encodeValue('{"x":1}'), () => at)).toEqual({ status: 'fulfilled', value: { x: 1 } });
    expect(decodeOutcome(encodeValue(undefined), () => at)).toEqual({
      status: 'fulfilled',
      value: undefined,
    });
  });

  test('an error comes back as TaskFailedError with where it happened and the remote stack', () => {
    const raw = encodeError(
      { name: 'TypeError', message: 'bad', code: 'E_BAD', stack: 'TypeError: bad\n    at handler' },
      'fetch',
    );
    const outcome = decodeOutcome(raw, () => at);
    if (outcome.status !== 'rejected') throw new Error('expected a rejection');
    expect(outcome.reason).toBeInstanceOf(TaskFailedError);
    expect(outcome.reason).toMatchObject({
      code: 'TASK_FAILED',
      message: 'bad',
      task: { groupId: 'g', index: 3, taskId: 'g.e.3', taskName: 'fetch' },
      remote: { name: 'TypeError', code: 'E_BAD' },
    });
    expect(outcome.reason.stack).toContain('at handler');
  });

  test('a cancellation comes back as TaskCancelledError with its reason', () => {
    const outcome = decodeOutcome(encodeCancelled(cancelReason('task', 'not needed')), () => at);
    if (outcome.status !== 'cancelled') throw new Error('expected a cancellation');
    expect(outcome.reason).toBeInstanceOf(TaskCancelledError);
    expect(outcome.reason).toMatchObject({ code: 'TASK_CANCELLED', kind: 'task', reason: 'not needed' });
  });
});

describe('cancel reasons from the wire', () => {
  test('a well-formed reason parses', () => {
    const by = { groupId: 'g', index: 1, taskId: 't', taskName: 'n' };
    expect(parseCancelReason(JSON.stringify({ kind: 'failure', message: 'm', by }))).toEqual({
      kind: 'failure',
      message: 'm',
      by,
    });
  });

  test.each([
    ['not json'],
    ['{"kind":"nonsense","message":"m"}'],
    ['{"kind":"user"}'],
    ['null'],
    [42],
    [undefined],
  ])('anything malformed gives undefined, never a throw: %s', (raw) => {
    expect(parseCancelReason(raw)).toBeUndefined();
  });
});
