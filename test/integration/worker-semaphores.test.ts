import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Producer } from '../../producer/index.ts';
import { DistributedSemaphore, GroupCancelledError, GroupFailedError } from '../../shared/index.ts';
import { Fleet } from '../fleet/fleet.ts';
import type { FleetEvent } from '../fleet/report.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

const LIMIT_TASKS = new URL('../fleet/limit-tasks.ts', import.meta.url).href;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl());
});

afterAll(async () => {
  await redis.quit();
});

const key = () => `count:${randomUUID()}`;
const peak = (events: readonly FleetEvent[]) => Math.max(...events.map((e) => Number(e.now)));

describe('limits held by tasks, across worker processes', () => {
  const api = 'api';
  // Limits are fleet-wide and the first one given wins: this fleet has a key prefix of its own.
  const prefix = `tf-${randomUUID().slice(0, 6)}`;
  const t = useFleet('sem-limits', {
    workers: 2,
    tasksModule: LIMIT_TASKS,
    options: { concurrency: 4, globalLimits: { [api]: 2 }, prefix },
  });

  test('worker.task(..., { limits }) holds the permits while the handler runs: never more than the limit fleet-wide', async () => {
    const counter = key();
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 12; i++) tg.createTask('callApi', { key: counter, holdMs: 40 });
    await tg.wait();
    const inside = t.fleet.events.filter(of(tg.id, 'inside'));
    expect(inside).toHaveLength(12);
    expect(peak(inside)).toBe(2); // the limit, and reached: tasks did run side by side
    expect(new Set(inside.map((e) => e.pid)).size).toBe(2);
    const status = await new DistributedSemaphore(redis, api, { prefix }).status();
    expect(status).toMatchObject({ limit: 2, used: 0, waiters: [] });
  });

  test('ctx.semaphore(name, limit) inside a handler: the same, with a fencing token per grant', async () => {
    const counter = key();
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 12; i++) tg.createTask('useDb', { key: counter, holdMs: 30, limit: 3 });
    const results = (await tg.wait()) as { now: number; token: number }[];
    expect(Math.max(...results.map((r) => r.now))).toBe(3);
    expect(new Set(results.map((r) => r.token)).size).toBe(12);
  });

  test('maxConcurrency: at most N tasks of the group run at once across the fleet', async () => {
    const counter = key();
    const tg = t.producer.taskGroup({ maxConcurrency: 3 });
    for (let i = 0; i < 15; i++) tg.createTask('count', { key: counter, holdMs: 30 });
    await tg.wait();
    const inside = t.fleet.events.filter(of(tg.id, 'inside'));
    expect(inside).toHaveLength(15);
    expect(peak(inside)).toBe(3);
    expect((await tg.status()).maxConcurrency).toBe(3);
  });

  test('cancellation releases the permits its tasks held', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('holdApi');
    tg.createTask('holdApi');
    await t.fleet.waitForCount(of(tg.id, 'started'), 2);
    const semaphore = new DistributedSemaphore(redis, api, { prefix });
    expect((await semaphore.status()).used).toBe(2);
    await tg.cancel();
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
    await expect.poll(async () => (await semaphore.status()).used).toBe(0);
  });

  test("cancelling a group wakes and removes its tasks that wait for the group's turn", async () => {
    const tg = t.producer.taskGroup({ maxConcurrency: 1 });
    for (let i = 0; i < 3; i++) tg.createTask('block');
    await t.fleet.waitFor(of(tg.id, 'started'));
    const turn = new DistributedSemaphore(redis, tg.id, { prefix: `${prefix}:${t.queue}:g` });
    await expect.poll(async () => (await turn.status()).waiters.length).toBe(2);
    await tg.cancel('no more');
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
    expect(await turn.status()).toMatchObject({ used: 0, waiters: [] });
    expect(t.fleet.count(of(tg.id, 'started'))).toBe(1);
  });

  test('a worker configured with another limit reports the mismatch and keeps the fleet’s', async () => {
    const pid = await t.fleet.add({ globalLimits: { [api]: 5 }, concurrency: 4 });
    const counter = key();
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 16; i++) tg.createTask('callApi', { key: counter, holdMs: 30 });
    await tg.wait();
    expect(peak(t.fleet.events.filter(of(tg.id, 'inside')))).toBeLessThanOrEqual(2);
    const warning = await t.fleet.waitFor((e) => e.kind === 'log' && e.pid === pid);
    expect(warning.message).toMatch(/the fleet's limit is 2, this worker was configured with 5; 2 applies/);
  });
});

describe('a task waiting for a permit', () => {
  const t = useFleet('sem-park', {
    workers: 1,
    tasksModule: LIMIT_TASKS,
    options: { concurrency: 1, globalLimits: { api: 1 } },
  });

  test('gives its concurrency slot back while it waits: other tasks run on the same worker meanwhile', async () => {
    const gate = new DistributedSemaphore(redis, 'gate', { limit: 1 });
    const held = await gate.acquire();
    const waiting = t.producer.taskGroup();
    waiting.createTask('throughGate');
    await t.fleet.waitFor(of(waiting.id, 'waiting'));
    // concurrency 1, and the only slot's task waits for the gate: this group still runs.
    const other = t.producer.taskGroup();
    other.createTask('echo', 'ran meanwhile');
    expect(await other.wait()).toEqual(['ran meanwhile']);
    expect(t.fleet.count(of(waiting.id, 'through'))).toBe(0);
    await held.release();
    const [token] = (await waiting.wait()) as number[];
    expect(token).toBeGreaterThan(held.token);
  });

  test('an acquire still waiting when its task returns leaves the queue; nothing is granted to it later', async () => {
    const gate = new DistributedSemaphore(redis, 'gate', { limit: 1 });
    const held = await gate.acquire();
    const tg = t.producer.taskGroup();
    tg.createTask('forgetGate');
    expect(await tg.wait()).toEqual(['returned']);
    const refused = await t.fleet.waitFor(of(tg.id, 'refused'));
    expect(refused.code).toBe('TASK_CANCELLED');
    expect((await gate.status()).waiters).toEqual([]);
    await held.release();
    // Before: the grant went to the ended attempt, and its worker renewed it for as long as it lived.
    expect(await gate.status()).toMatchObject({ used: 0, holders: [] });
    expect(t.fleet.count(of(tg.id, 'granted'))).toBe(0);
  });
});

describe('a worker cut off from Redis for longer than its permit lease', () => {
  const queue = uniqueQueue('sem-lost');
  let proxy: TcpProxy;
  let fleet: Fleet;
  let producer: Producer;

  beforeAll(async () => {
    proxy = await TcpProxy.start(new URL(redisUrl()));
    fleet = await Fleet.start({
      redisUrl: proxy.url,
      queue,
      workers: 1,
      tasksModule: LIMIT_TASKS,
      options: { concurrency: 2, globalLimits: { api: 1 }, permitLeaseMs: 1000, prefix: 'tf-lost' },
    });
    producer = new Producer({ connection: redisUrl(), queue, prefix: 'tf-lost' });
  });

  afterAll(async () => {
    await producer?.close();
    proxy.thaw();
    await fleet?.stop();
    await proxy?.close();
  });

  test("its running task's ctx.signal aborts with PermitLostError, and the task fails with it", async () => {
    const tg = producer.taskGroup();
    tg.createTask('holdApi');
    await fleet.waitFor(of(tg.id, 'started'));

    proxy.freeze();
    const aborted = await fleet.waitFor(of(tg.id, 'aborted'), 10_000);
    expect(aborted).toMatchObject({ reasonName: 'PermitLostError', code: 'PERMIT_LOST' });
    // The permit is free for others again, by Redis time.
    const semaphore = new DistributedSemaphore(redis, 'api', { prefix: 'tf-lost' });
    const permit = await semaphore.acquire({ timeoutMs: 5000 });
    await permit.release();
    proxy.thaw();

    const error = (await tg.wait().catch((e: unknown) => e)) as GroupFailedError;
    expect(error).toBeInstanceOf(GroupFailedError);
    expect(error.errors[0]?.remote.code).toBe('PERMIT_LOST');
  });
});
