import { describe, expect, test } from 'vitest';
import { ProgressRate } from '../../monitor/progress-rate.ts';

describe('ProgressRate', () => {
  test('measures tasks per second over its window and estimates the time left', () => {
    const rate = new ProgressRate(10_000);
    expect(rate.perSecond()).toBe(0);
    expect(rate.etaMs(100)).toBeUndefined();
    rate.add(0, 0);
    rate.add(50, 5000);
    expect(rate.perSecond()).toBe(10);
    expect(rate.etaMs(100)).toBe(10_000);
    expect(rate.etaMs(0)).toBe(0);
  });

  test('forgets samples older than the window, so it follows a change of pace', () => {
    const rate = new ProgressRate(1000);
    rate.add(0, 0);
    rate.add(1000, 1000); // 1000/s
    rate.add(1010, 2000); // then 10/s
    rate.add(1020, 3000);
    expect(rate.perSecond()).toBe(10);
  });
});
