import { describe, expect, test } from 'vitest';
import { ArgumentRangeError } from '../../shared/errors.ts';
import { LocalSemaphore } from '../../shared/local-semaphore.ts';

describe('LocalSemaphore', () => {
  test('acquire() waits while all permits are held', async () => {
    const semaphore = new LocalSemaphore(2);
    const a = await semaphore.acquire();
    await semaphore.acquire();
    let third = false;
    const waiting = semaphore.acquire().then((p) => {
      third = true;
      return p;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    expect(semaphore.waiting).toBe(1);
    a.release();
    await waiting;
    expect(third).toBe(true);
  });

  test('waiters are served first come, first served; a large request is not overtaken by small ones', async () => {
    const semaphore = new LocalSemaphore(3);
    const held = await semaphore.acquire({ permits: 2 });
    const order: string[] = [];
    const big = semaphore.acquire({ permits: 3 }).then((p) => {
      order.push('big');
      return p;
    });
    const small = semaphore.acquire({ permits: 1 }).then((p) => {
      order.push('small');
      return p;
    });
    // One permit is free, but the big request came first: the small one waits behind it.
    await Promise.resolve();
    expect(order).toEqual([]);
    held.release();
    (await big).release();
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  test('an aborted waiter leaves the queue, and the ones behind it move up', async () => {
    const semaphore = new LocalSemaphore(2);
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const big = semaphore.acquire({ permits: 2, signal: controller.signal });
    const small = semaphore.acquire({ permits: 1 });
    controller.abort(new Error('gave up'));
    await expect(big).rejects.toThrow('gave up');
    expect(semaphore.waiting).toBe(0);
    await small;
    expect(semaphore.available).toBe(0);
    held.release();
    expect(semaphore.available).toBe(1);
  });

  test('an already aborted signal rejects at once, without taking a permit', async () => {
    const semaphore = new LocalSemaphore(1);
    await expect(semaphore.acquire({ signal: AbortSignal.abort(new Error('no')) })).rejects.toThrow('no');
    expect(semaphore.available).toBe(1);
  });

  test('releasing twice is harmless', async () => {
    const semaphore = new LocalSemaphore(1);
    const permit = await semaphore.acquire();
    expect(permit.release()).toBe(true);
    expect(permit.release()).toBe(false);
    expect(semaphore.available).toBe(1);
  });

  test('using a permit releases it at the end of the block', async () => {
    const semaphore = new LocalSemaphore(1);
    {
      using _permit = await semaphore.acquire();
      expect(semaphore.available).toBe(0);
    }
    expect(semaphore.available).toBe(1);
  });

  test('tryAcquire() takes a free permit but never jumps the queue', async () => {
    const semaphore = new LocalSemaphore(1);
    const held = semaphore.tryAcquire();
    expect(held).toBeDefined();
    expect(semaphore.tryAcquire()).toBeUndefined();
    const waiting = semaphore.acquire();
    held?.release();
    expect(semaphore.tryAcquire()).toBeUndefined(); // the waiter got it
    (await waiting).release();
  });

  test('whenAvailable() resolves once a permit is free, without taking it', async () => {
    const semaphore = new LocalSemaphore(1);
    const held = await semaphore.acquire();
    let ready = false;
    const available = semaphore.whenAvailable().then(() => {
      ready = true;
    });
    await Promise.resolve();
    expect(ready).toBe(false);
    held.release();
    await available;
    expect(semaphore.available).toBe(1);
  });

  test('bad limits and permits are refused with a RangeError naming the value', () => {
    expect(() => new LocalSemaphore(0)).toThrow(ArgumentRangeError);
    expect(() => new LocalSemaphore(0)).toThrow(
      'Invalid `limit`: expected an integer from 1 and up, got `0` (number)',
    );
    expect(() => new LocalSemaphore(1.5)).toThrow(RangeError);
    const semaphore = new LocalSemaphore(2);
    expect(() => semaphore.acquire({ permits: 3 })).toThrow(
      'Invalid `permits`: 3 is more than the limit of 2',
    );
    expect(() => semaphore.acquire({ permits: -1 })).toThrow(RangeError);
  });
});
