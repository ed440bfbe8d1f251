import { describe, expect, test } from 'vitest';
import { newEpoch, newGroupId, parseTaskJobId, taskJobId } from '../../shared/keys.ts';

describe('generated ids', () => {
  test('group ids: 16 characters of [0-9a-z], no repeats in 100,000', () => {
    const ids = new Set(Array.from({ length: 100_000 }, newGroupId));
    expect(ids.size).toBe(100_000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{16}$/);
  });

  test('every character of the alphabet turns up, none favoured by much', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) for (const c of newGroupId()) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(36);
    const expected = (20_000 * 16) / 36;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.1);
  });

  test('a job id built from them parses back', () => {
    const groupId = newGroupId();
    const epoch = newEpoch();
    expect(epoch).toMatch(/^[0-9a-z]{6}$/);
    expect(parseTaskJobId(taskJobId(groupId, epoch, 42))).toEqual({ groupId, epoch, index: 42 });
  });
});
