import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DistributedSemaphore } from '../../shared/index.ts';
import { SemaphoreProcess } from '../fleet/semaphore-client.ts';
import { redisUrl } from '../helpers/queues.ts';

const prefix = `semfleet-${randomUUID().slice(0, 8)}`;
let redis: Redis;
let processes: SemaphoreProcess[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});

afterEach(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  processes = [];
});

afterAll(async () => {
  await redis.quit();
});

async function start(n: number, env: Record<string, string>[] = []): Promise<SemaphoreProcess[]> {
  const started = await Promise.all(
    Array.from({ length: n }, (_, i) => SemaphoreProcess.start(redisUrl(), env[i] ?? {})),
  );
  processes.push(...started);
  return started;
}

const sometimes = (arbitrary: fc.Arbitrary<number>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 9 }, { arbitrary, weight: 1 });

const semaphoreName = () => `fleet-${randomUUID().slice(0, 8)}`;

async function queueLength(semaphore: DistributedSemaphore, n: number): Promise<void> {
  await expect
    .poll(async () => (await semaphore.status()).waiters.length, { interval: 5, timeout: 10_000 })
    .toBe(n);
}

describe('DistributedSemaphore across processes', () => {
  test('FIFO: waiters queued in a known order from 3 processes acquire in that order', async () => {
    const name = semaphoreName();
    const here = new DistributedSemaphore(redis, name, { limit: 1, prefix });
    const held = await here.acquire();
    const [a, b, c] = await start(3);
    const order = [a, b, c] as SemaphoreProcess[];
    for (const [i, p] of order.entries()) {
      p.send({ op: 'acquire', tag: `p${i}`, name, options: { limit: 1, prefix }, acquire: {} });
      await queueLength(here, i + 1);
    }
    const owners = (await here.status()).waiters.map((w) => w.owner);
    expect(owners).toEqual(order.map((p) => expect.stringContaining(`:${p.pid}`)));

    await held.release();
    const tokens: number[] = [];
    for (const [i, p] of order.entries()) {
      const acquired = await p.next((m) => m.type === 'acquired' && m.tag === `p${i}`);
      tokens.push(Number(acquired.token));
      p.send({ op: 'release', tag: `p${i}` });
    }
    expect(tokens).toEqual([held.token + 1, held.token + 2, held.token + 3]);
  });

  test('SIGKILL a process holding permits: they are free again within the lease, and its waiters disappear', async () => {
    const name = semaphoreName();
    const leaseMs = 1000;
    const [doomed] = (await start(1)) as [SemaphoreProcess];
    doomed.send({
      op: 'acquire',
      tag: 'held',
      name,
      options: { limit: 2, leaseMs, prefix },
      acquire: { permits: 2 },
    });
    await doomed.next((m) => m.type === 'acquired');
    doomed.send({ op: 'acquire', tag: 'waiting', name, options: { limit: 2, leaseMs, prefix }, acquire: {} });
    const here = new DistributedSemaphore(redis, name, { limit: 2, leaseMs, prefix });
    await queueLength(here, 1);

    await doomed.kill();

    // Both permits come back when the dead holder's lease runs out (not at some later sweep).
    const permit = await here.acquire({ permits: 2, timeoutMs: leaseMs * 3 });
    const status = await here.status();
    expect(status.holders).toHaveLength(1);
    expect(status.holders[0]?.owner).toContain(`:${process.pid}`);
    expect(status.waiters).toEqual([]); // the dead process's waiter entry expired too
    await permit.release();
  });

  test('property: 20,000 acquisitions by 4 processes with random holds, aborts, timeouts and limit changes never exceed the limit', async () => {
    const steps = fc.record(
      {
        permits: fc.integer({ min: 1, max: 2 }),
        holdMs: fc.integer({ min: 0, max: 3 }),
        // About one acquire in ten is aborted, and one in ten has a timeout.
        abortAfterMs: sometimes(fc.integer({ min: 0, max: 20 })),
        timeoutMs: sometimes(fc.integer({ min: 1, max: 30 })),
      },
      { requiredKeys: ['permits', 'holdMs'] },
    );
    const scenario = fc.record({
      plans: fc.array(fc.array(steps, { minLength: 5000, maxLength: 5000 }), { minLength: 4, maxLength: 4 }),
      limits: fc.array(fc.integer({ min: 2, max: 8 }), { minLength: 5, maxLength: 15 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ plans, limits }) => {
        const name = semaphoreName();
        const keys = { counterKey: `${prefix}:${name}:count`, tokensKey: `${prefix}:${name}:tokens` };
        const here = new DistributedSemaphore(redis, name, { limit: limits[0] ?? 4, prefix });
        // Limit history: tokens above `after` were granted under `limit`.
        const history = [{ after: 0, limit: limits[0] ?? 4 }];
        await here.setLimit(limits[0] ?? 4);
        // Two of the four processes have clocks an hour off, either way.
        const workers = await start(4, [{ TF_CLOCK_SKEW_MS: '3600000' }, { TF_CLOCK_SKEW_MS: '-3600000' }]);
        workers.forEach((w, i) => {
          w.send({ op: 'plan', name, prefix, leaseMs: 30_000, steps: plans[i], concurrency: 25, ...keys });
        });
        const done = Promise.all(workers.map((w) => w.next((m) => m.type === 'plan-done')));
        let finished = false;
        void done.then(() => {
          finished = true;
        });
        for (const limit of limits.slice(1)) {
          if (finished) break;
          await new Promise((resolve) => setTimeout(resolve, 100)); // a change every 100 ms while they run
          const { lastToken } = await here.setLimit(limit);
          history.push({ after: lastToken, limit });
        }
        const results = await done;

        const limitAt = (token: number): number => {
          let limit = 0;
          for (const h of history) if (token > h.after) limit = h.limit;
          return limit;
        };
        let acquisitions = 0;
        for (const result of results) {
          const { observations, outcomes } = result as unknown as {
            observations: [number, number][];
            outcomes: { acquired: number; aborted: number; timedOut: number; other: string[] };
          };
          expect(outcomes.other).toEqual([]); // every waiter either acquired or got its abort/timeout
          expect(outcomes.acquired + outcomes.aborted + outcomes.timedOut).toBe(5000);
          for (const [held, largestToken] of observations)
            expect(held).toBeLessThanOrEqual(limitAt(largestToken));
          acquisitions += outcomes.acquired;
        }
        expect(acquisitions).toBeGreaterThan(10_000);
        const status = await here.status();
        expect(status.used).toBe(0);
        expect(status.waiters).toEqual([]);
        await Promise.all(workers.map((w) => w.kill()));
      }),
      // One run is 20,000 acquisitions by 4 processes: report a failure as it is, no shrinking.
      { numRuns: 1, endOnFailure: true, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
  }, 180_000);
});
