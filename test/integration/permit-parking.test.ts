import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DistributedSemaphore } from '../../shared/index.ts';
import { redisUrl } from '../helpers/queues.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

const LIMIT_TASKS = new URL('../fleet/limit-tasks.ts', import.meta.url).href;
const prefix = `park-${randomUUID().slice(0, 6)}`;

describe('more tasks waiting for a fleet-wide permit than a worker may park', () => {
  const t = useFleet('permit-park', {
    workers: 1,
    tasksModule: LIMIT_TASKS,
    options: { prefix, concurrency: 1, maxParked: 1, globalLimits: { api: 1 } },
  });
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  test('do not deadlock: a task granted its permit always gets a slot to run in', async () => {
    // The test holds the only permit, so the worker's first task parks and the next ones queue behind it.
    const api = new DistributedSemaphore(redis, 'api', { prefix, limit: 1 });
    const held = await api.acquire();
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 4; i++) tg.createTask('callApi', { key: `${prefix}:count`, holdMs: 10 });
    await expect.poll(async () => (await api.status()).waiters.length).toBeGreaterThan(0);

    await held.release();

    // Before: the next task waited for the permit in the only slot, and the parked one, granted the
    // permit, waited for that slot for ever.
    await tg.wait();
    expect(t.fleet.count(of(tg.id, 'inside'))).toBe(4);
    expect(await api.status()).toMatchObject({ used: 0, waiters: [] });
  }, 20_000);
});
