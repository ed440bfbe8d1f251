import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ArgumentRangeError,
  DistributedSemaphore,
  InvalidArgumentError,
  LimitNotSetError,
  type Permit,
  PermitLostError,
  SemaphoreTimeoutError,
} from '../../shared/index.ts';
import { semaphoreKeys } from '../../shared/keys.ts';
import { SemaphoreScripts } from '../../shared/semaphore/semaphore-scripts.ts';
import { redisUrl } from '../helpers/queues.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

let redis: Redis;
const prefix = `semtest-${randomUUID().slice(0, 8)}`;
const fresh = (limit: number, leaseMs = 30_000) =>
  new DistributedSemaphore(redis, `s-${randomUUID().slice(0, 8)}`, { limit, leaseMs, prefix });

beforeAll(() => {
  redis = new Redis(redisUrl());
});

afterAll(async () => {
  await redis.quit();
});

/** Resolves once the semaphore's queue has `n` waiters (a condition, awaited). */
async function waiters(semaphore: DistributedSemaphore, n: number): Promise<void> {
  await expect.poll(async () => (await semaphore.status()).waiters.length, { interval: 5 }).toBe(n);
}

/** The promise's value, or a failure if it takes longer than `seconds` (a bound, not a synchronisation). */
async function withinSeconds<T>(seconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('DistributedSemaphore in one process', () => {
  test('never more permits out than the limit; a release hands them to the next waiter', async () => {
    const semaphore = fresh(2);
    const a = await semaphore.acquire();
    const b = await semaphore.acquire();
    let third: Permit | undefined;
    const waiting = semaphore.acquire().then((p) => {
      third = p;
      return p;
    });
    await waiters(semaphore, 1);
    expect(third).toBeUndefined();
    expect((await semaphore.status()).used).toBe(2);
    expect(await a.release()).toBe(true);
    const c = await waiting;
    expect((await semaphore.status()).used).toBe(2);
    await b.release();
    await c.release();
    expect((await semaphore.status()).used).toBe(0);
  });

  test('fencing tokens only grow', async () => {
    const semaphore = fresh(3);
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const permit = await semaphore.acquire();
      tokens.push(permit.token);
      await permit.release();
    }
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    expect(new Set(tokens).size).toBe(5);
  });

  test('waiters are served in arrival order, and a large request is not starved by small ones', async () => {
    const semaphore = fresh(3);
    const held = await semaphore.acquire({ permits: 2 });
    const order: string[] = [];
    const big = semaphore.acquire({ permits: 3 }).then((p) => {
      order.push('big');
      return p;
    });
    await waiters(semaphore, 1);
    const small = semaphore.acquire({ permits: 1 }).then((p) => {
      order.push('small');
      return p;
    });
    await waiters(semaphore, 2);
    // One permit is free, but the big request is ahead: the small one waits behind it.
    expect((await semaphore.status()).used).toBe(2);
    await held.release();
    await (await big).release();
    await (await small).release();
    expect(order).toEqual(['big', 'small']);
  });

  test('an aborted waiter leaves the queue and rejects with the reason', async () => {
    const semaphore = fresh(1);
    const held = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire({ signal: controller.signal });
    await waiters(semaphore, 1);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect((await semaphore.status()).waiters).toEqual([]);
    await held.release();
    expect((await semaphore.status()).used).toBe(0); // nothing was handed to the aborted waiter
  });

  test('a waiter that times out gets SemaphoreTimeoutError and leaves the queue', async () => {
    const semaphore = fresh(1);
    const held = await semaphore.acquire();
    const error = await semaphore.acquire({ timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SemaphoreTimeoutError);
    expect(error).toMatchObject({ code: 'SEMAPHORE_TIMEOUT', timeoutMs: 50 });
    expect((await semaphore.status()).waiters).toEqual([]);
    await held.release();
  });

  test('tryAcquire() takes free permits and never waits or jumps the queue', async () => {
    const semaphore = fresh(1);
    const first = await semaphore.tryAcquire();
    expect(first).toBeDefined();
    expect(await semaphore.tryAcquire()).toBeUndefined();
    await first?.release();
    expect(await semaphore.tryAcquire()).toBeDefined();
  });

  test('releasing twice is harmless', async () => {
    const semaphore = fresh(1);
    const permit = await semaphore.acquire();
    expect(await permit.release()).toBe(true);
    expect(await permit.release()).toBe(false);
    expect((await semaphore.status()).used).toBe(0);
  });

  test('setLimit() raises the limit at run time and serves waiters at once; lowering it revokes nothing', async () => {
    const semaphore = fresh(1);
    const a = await semaphore.acquire();
    const waiting = semaphore.acquire();
    await waiters(semaphore, 1);
    expect(await semaphore.setLimit(2)).toMatchObject({ previous: 1 });
    const b = await waiting;
    expect((await semaphore.status()).used).toBe(2);
    await semaphore.setLimit(1);
    const c = semaphore.acquire();
    await waiters(semaphore, 1);
    await a.release(); // 1 still held, limit 1: c waits
    expect((await semaphore.status()).waiters).toHaveLength(1);
    await b.release();
    await (await c).release();
  });

  test('status() shows the limit, holders with owner, token and lease expiry, and waiters in order', async () => {
    const semaphore = fresh(1, 10_000);
    const held = await semaphore.acquire();
    const w1 = semaphore.acquire({ permits: 1 });
    await waiters(semaphore, 1);
    const status = await semaphore.status();
    expect(status).toMatchObject({ name: semaphore.name, limit: 1, used: 1 });
    expect(status.holders).toHaveLength(1);
    expect(status.holders[0]).toMatchObject({
      permits: 1,
      token: held.token,
      owner: expect.stringContaining(':'),
    });
    expect(status.holders[0]?.expiresAt).toBeGreaterThan(status.now);
    expect(status.holders[0]?.expiresAt).toBeLessThanOrEqual(status.now + 10_000);
    expect(status.waiters[0]).toMatchObject({ permits: 1 });
    await held.release();
    await (await w1).release();
  });

  test('the first limit given wins; a different one is reported, not applied', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const first = new DistributedSemaphore(redis, name, { limit: 2, prefix });
    await (await first.acquire()).release();
    const reported: [number, number][] = [];
    const second = new DistributedSemaphore(redis, name, {
      limit: 5,
      prefix,
      onLimitMismatch: (stored, configured) => reported.push([stored, configured]),
    });
    await (await second.acquire()).release();
    expect(reported).toEqual([[2, 5]]);
    expect((await second.status()).limit).toBe(2);
  });

  test('bad input: a clear RangeError or TypeError naming the value', async () => {
    expect(() => new DistributedSemaphore(redis, '', { limit: 1 })).toThrow(
      'Invalid `semaphore name`: expected a non-empty semaphore name, got an empty string',
    );
    expect(() => new DistributedSemaphore(redis, 42 as unknown as string, { limit: 1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new DistributedSemaphore(redis, 'x'.repeat(201), { limit: 1 })).toThrow(/at most 200/);
    expect(() => new DistributedSemaphore(redis, 'ok', { limit: 0 })).toThrow(ArgumentRangeError);
    expect(() => new DistributedSemaphore(redis, 'ok', { limit: 1.5 })).toThrow(
      'Invalid `limit`: expected an integer from 1 and up, got `1.5` (number)',
    );
    const semaphore = fresh(2);
    await expect(semaphore.acquire({ permits: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(semaphore.acquire({ permits: 3 })).rejects.toThrow(
      'Invalid `permits`: 3 is more than the limit of 2',
    );
    await expect(semaphore.acquire({ timeoutMs: -1 })).rejects.toBeInstanceOf(RangeError);
    // Longer than a timer can wait (it would fire after 1 ms).
    await expect(semaphore.acquire({ timeoutMs: 2 ** 31 })).rejects.toThrow(/from 0 to 2147483647/);
    expect(() => new DistributedSemaphore(redis, 'ok', { leaseMs: 2 ** 31 })).toThrow(ArgumentRangeError);
    await expect(semaphore.acquire(null as unknown as object)).rejects.toThrow(
      /^Invalid `acquire options`: .*expected object, received null/,
    );
    await expect(semaphore.setLimit(-3)).rejects.toBeInstanceOf(RangeError);
    const unset = new DistributedSemaphore(redis, `s-${randomUUID().slice(0, 8)}`, { prefix });
    await expect(unset.acquire()).rejects.toBeInstanceOf(LimitNotSetError);
  });

  test('names with characters that matter to Redis keys stay in one slot and do not collide', async () => {
    const a = new DistributedSemaphore(redis, 'a}{b:c d', { limit: 1, prefix });
    const b = new DistributedSemaphore(redis, 'a}{b:c', { limit: 1, prefix });
    const pa = await a.acquire();
    const pb = await b.tryAcquire();
    expect(pb).toBeDefined();
    await pa.release();
    await pb?.release();
  });

  test('many waiters in one process share one subscription', async () => {
    const semaphore = fresh(1);
    const held = await semaphore.acquire();
    const queued = Array.from({ length: 50 }, () => semaphore.acquire());
    await waiters(semaphore, 50);
    // Its own channel: the default owner is host:pid.
    const channel = semaphoreKeys(prefix, semaphore.name).wakeOf(`${hostname()}:${process.pid}`);
    const [, subscribers] = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    expect(subscribers).toBe(1);
    await held.release();
    for (const next of queued) await (await next).release();
  });

  test("a grant is published on its waiter's process channel only", async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const a = new DistributedSemaphore(redis, name, { limit: 1, prefix, owner: 'host-a:1' });
    const b = new DistributedSemaphore(redis, name, { limit: 1, prefix, owner: 'host-b:2' });
    const keys = semaphoreKeys(prefix, name);
    const listener = new Redis(redisUrl());
    const heard: [string, string][] = [];
    try {
      await listener.psubscribe(`${keys.wake}:*`);
      listener.on('pmessage', (_pattern, channel: string, message: string) => heard.push([channel, message]));
      const held = await a.acquire();
      const waiting = b.acquire();
      await waiters(a, 1);
      await held.release();
      const granted = await waiting;
      await expect.poll(() => heard.length).toBe(1);
      expect(heard[0]?.[0]).toBe(keys.wakeOf('host-b:2'));
      expect(heard[0]?.[1]).toMatch(new RegExp(`=${granted.token}$`));
      await granted.release();
    } finally {
      listener.disconnect();
    }
  });

  test('a release that serves a waiter of its own process tells it in the reply: nothing is published', async () => {
    const semaphore = fresh(1);
    const keys = semaphoreKeys(prefix, semaphore.name);
    const listener = new Redis(redisUrl());
    const heard: string[] = [];
    try {
      await listener.psubscribe(`${keys.wake}:*`);
      listener.on('pmessage', (_pattern, _channel: string, message: string) => heard.push(message));
      const held = await semaphore.acquire();
      const waiting = semaphore.acquire();
      await waiters(semaphore, 1);
      await held.release();
      const granted = await waiting;
      expect(granted.token).toBe(held.token + 1);
      // A PING answered after the grant: a message published before it would have come first.
      expect(await listener.ping()).toBe('PONG');
      expect(heard).toEqual([]);
      await granted.release();
    } finally {
      listener.disconnect();
    }
  });
  // A lease of 10 minutes: the heartbeat that would find a lost grant comes only after 200 s.
  const longLease = { limit: 1, prefix, leaseMs: 600_000 };

  /** `from` holds the only permit, `to` waits for it, `from` releases: `to` must hear of it at once. */
  async function handOver(from: DistributedSemaphore, to: DistributedSemaphore): Promise<void> {
    const held = await from.acquire();
    const waiting = to.acquire();
    await waiters(from, 1);
    await held.release();
    const granted = await withinSeconds(5, waiting);
    expect(granted.token).toBe(held.token + 1);
    await granted.release();
  }

  test('two instances of one semaphore in one process: a release by one wakes the waiter of the other at once', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    await handOver(
      new DistributedSemaphore(redis, name, longLease),
      new DistributedSemaphore(redis, name, longLease),
    );
  });

  test('instances on two connections given one owner (as processes given one `owner` name): a grant to the other is published, not kept in the reply', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const other = new Redis(redisUrl()); // the other process's connection
    try {
      await handOver(
        new DistributedSemaphore(redis, name, { ...longLease, owner: 'api-worker' }),
        new DistributedSemaphore(other, name, { ...longLease, owner: 'api-worker' }),
      );
    } finally {
      other.disconnect();
    }
  });
});

describe('edges of waiting, leases and limits', () => {
  test('a batch sent again (its reply lost to a reconnect) finds its earlier self: the same token, the same place in the queue', async () => {
    // The script itself, as the Batcher calls it: ioredis re-sends a command whose reply a dropped
    // connection lost, so the script may run twice for one batch.
    const scripts = new SemaphoreScripts(redis, semaphoreKeys(prefix, `s-${randomUUID().slice(0, 8)}`));
    const batch = {
      leaseMs: 30_000,
      owner: 'resent:1',
      idPrefix: 'r1.',
      limit: 1,
      waiterTtlMs: 30_000,
      idleTtlMs: 0,
    };
    const requests = [
      { id: 'r1.a', permits: 1, wait: true },
      { id: 'r1.b', permits: 1, wait: true },
      { id: 'r1.c', permits: 2, wait: true },
      { id: 'r1.d', permits: 1, wait: false },
    ];
    const first = await scripts.releaseAndAcquire(batch, [], requests);
    const again = await scripts.releaseAndAcquire(batch, [], requests.slice(0, 2));
    expect(first.acquired).toEqual([
      { kind: 'granted', token: 1, limit: 1 },
      { kind: 'queued', position: 1, msToNextExpiry: expect.any(Number), limit: 1 },
      { kind: 'over-limit', limit: 1 },
      { kind: 'unavailable', limit: 1 },
    ]);
    expect(again.acquired).toEqual([
      { kind: 'granted', token: 1, limit: 1 },
      { kind: 'queued', position: 1, msToNextExpiry: expect.any(Number), limit: 1 },
    ]);
    const status = await scripts.status();
    expect(status.holders.map((h) => [h.id, h.token])).toEqual([['r1.a', 1]]);
    expect(status.waiters.map((w) => w.id)).toEqual(['r1.b']);
    // The release's grant to this instance's own waiter comes in the reply; a second release says false.
    const released = await scripts.releaseAndAcquire(batch, ['r1.a'], []);
    expect(released).toEqual({ released: [true], acquired: [], grants: ['r1.b=2'] });
    const twice = await scripts.releaseAndAcquire(batch, ['r1.a'], []);
    expect(twice).toEqual({ released: [false], acquired: [], grants: [] });
  });

  test('an abort while the request is on its way: the waiter still leaves the queue, and a grant is given back', async () => {
    const semaphore = fresh(1);
    const held = await semaphore.acquire();
    const queued = new AbortController();
    const waiting = semaphore.acquire({ signal: queued.signal });
    queued.abort(new Error('gave up early')); // before the queueing round trip has come back
    await expect(waiting).rejects.toThrow('gave up early');
    expect((await semaphore.status()).waiters).toEqual([]);
    await held.release();
    expect((await semaphore.status()).used).toBe(0);

    const granted = new AbortController();
    const free = semaphore.acquire({ signal: granted.signal });
    granted.abort(new Error('gave up early again')); // the permit is free: Redis grants it at once
    await expect(free).rejects.toThrow('gave up early again');
    expect((await semaphore.status()).used).toBe(0);
  });

  test('lowering the limit below a queued request refuses it, and the queue behind it moves on', async () => {
    const semaphore = fresh(3);
    const held = await semaphore.acquire({ permits: 2 });
    const big = semaphore.acquire({ permits: 3 }).catch((error: unknown) => error);
    await waiters(semaphore, 1);
    const small = semaphore.acquire({ permits: 1 });
    await waiters(semaphore, 2);
    await semaphore.setLimit(2);
    const refused = await big;
    expect(refused).toBeInstanceOf(ArgumentRangeError);
    expect(String(refused)).toContain('3 is more than the limit');
    await held.release();
    const served = await small; // before: nobody behind the oversized head was ever served
    expect((await semaphore.status()).waiters).toEqual([]);
    await served.release();
  });

  test('a release that comes after the lease ran out says false, even before anyone reaped it', async () => {
    const semaphore = fresh(1, 200);
    const permit = await semaphore.acquire();
    // The process stalls (a long GC, a frozen VM): no timer runs, the lease runs out in Redis.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
    expect(await permit.release()).toBe(false);
    expect((await semaphore.status()).used).toBe(0);
  });

  test('with idleTtlMs every key of the semaphore expires, those made after the first call too', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const semaphore = new DistributedSemaphore(redis, name, { limit: 1, prefix, idleTtlMs: 60_000 });
    const keys = semaphoreKeys(prefix, name);
    const held = await semaphore.acquire();
    const waiting = semaphore.acquire();
    await waiters(semaphore, 1);
    for (const key of keys.list) expect(await redis.pttl(key)).toBeGreaterThan(0);
    // Another process without the option (the CLI) changes the limit: the TTL is kept.
    await new DistributedSemaphore(redis, name, { prefix }).setLimit(2);
    await (await waiting).release();
    await held.release();
    const again = await semaphore.acquire();
    for (const key of [keys.meta, ...keys.list.slice(1, 3)]) expect(await redis.pttl(key)).toBeGreaterThan(0);
    await again.release();
  });

  test('a count of permits lost from Redis is recounted from the holders: never more than the limit', async () => {
    const semaphore = fresh(1);
    const held = await semaphore.acquire();
    await redis.del(semaphoreKeys(prefix, semaphore.name).meta); // expired or deleted by hand
    expect(await semaphore.tryAcquire()).toBeUndefined();
    await held.release();
    const next = await semaphore.tryAcquire();
    expect(next).toBeDefined();
    await next?.release();
  });

  test('thousands of leases running out at once are reaped (the semaphore stays usable)', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const own = new Redis(redisUrl());
    const holder = new DistributedSemaphore(own, name, { limit: 9000, leaseMs: 300, prefix });
    const permits = await Promise.all(Array.from({ length: 8100 }, () => holder.tryAcquire()));
    expect(permits.every((p) => p !== undefined)).toBe(true);
    own.disconnect(); // its process is gone: nothing renews the leases
    const other = new DistributedSemaphore(redis, name, { prefix });
    await expect.poll(async () => (await other.status()).used, { timeout: 10_000, interval: 50 }).toBe(0);
    const next = await other.tryAcquire();
    expect(next).toBeDefined();
    await next?.release();
  });
});

describe('a holder cut off from Redis', () => {
  let proxy: TcpProxy;
  let cutOff: Redis;

  beforeAll(async () => {
    proxy = await TcpProxy.start(new URL(redisUrl()));
    cutOff = new Redis(proxy.url, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    cutOff.disconnect();
    await proxy.close();
  });

  test('loses its permit (PermitLostError) when it cannot renew for longer than the lease; the permits go to others', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const holder = new DistributedSemaphore(cutOff, name, { limit: 1, leaseMs: 600, prefix });
    const permit = await holder.acquire();
    const other = new DistributedSemaphore(redis, name, { limit: 1, leaseMs: 600, prefix });
    const lost = new Promise<unknown>((resolve) =>
      permit.lost.addEventListener('abort', () => resolve(permit.lost.reason)),
    );

    proxy.freeze(); // packets stop flowing; the connection stays open

    expect(await lost).toBeInstanceOf(PermitLostError);
    const next = await other.acquire({ timeoutMs: 5000 });
    expect(next.token).toBeGreaterThan(permit.token);
    proxy.thaw();
    expect(await permit.release()).toBe(false); // it was not holding it any more
    await next.release();
  });

  test('a lost permit is not renewed when Redis answers again in time: it is given back', async () => {
    const name = `s-${randomUUID().slice(0, 8)}`;
    const holder = new DistributedSemaphore(cutOff, name, { limit: 1, leaseMs: 3000, prefix });
    const permit = await holder.acquire();
    const lost = new Promise<void>((resolve) => permit.lost.addEventListener('abort', () => resolve()));
    proxy.freeze();
    await lost; // a tenth of the lease (300 ms) before it can run out in Redis
    proxy.thaw(); // the renewals held up in the proxy arrive while the lease is still valid
    const other = new DistributedSemaphore(redis, name, { prefix });
    // Before: the heartbeat went on renewing it, so nobody else could ever have it.
    await expect.poll(async () => (await other.status()).used, { timeout: 2000 }).toBe(0);
    expect(holder.heldPermits).toBe(0);
    expect(await permit.release()).toBe(false);
  });
});
