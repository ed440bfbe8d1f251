import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Producer } from '../../producer/index.ts';
import { DistributedSemaphore } from '../../shared/index.ts';
import { admissionKeys, readAdmissions } from '../fleet/admission-counter.ts';
import { Fleet } from '../fleet/fleet.ts';
import { readGroupRuns } from '../helpers/group-runs.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { eventOf as of } from '../helpers/use-fleet.ts';

/**
 * The chaos version of worker-semaphores.test.ts's "a worker cut off from Redis for longer than its
 * permit lease": there, the task aborts; here, besides, another worker gets the permits meanwhile (and
 * never more than the limit run, by an independent counter), and the cut-off worker recovers when Redis
 * answers again: it finishes the interrupted group and runs new work on its own.
 */
const CHAOS_TASKS = new URL('../fleet/chaos-tasks.ts', import.meta.url).href;
const LIMIT = 2;
const LEASE_MS = 2000;
const prefix = `chaos-cut-${randomUUID().slice(0, 6)}`;
const keys = `${prefix}:check`;
const counter = admissionKeys(keys);
const queue = uniqueQueue('chaos-cut');
const options = { prefix, concurrency: 2, globalLimits: { x: LIMIT }, permitLeaseMs: LEASE_MS };

describe('a worker cut off from Redis for longer than its permit lease', () => {
  let proxy: TcpProxy;
  let cutOff: Fleet;
  let other: Fleet | undefined;
  let producer: Producer;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(redisUrl());
    proxy = await TcpProxy.start(new URL(redisUrl()));
    // Its own bookkeeping goes straight to Redis: the counter must not be cut off with the worker.
    const env = { TASKFLEET_CHAOS_REDIS: redisUrl() };
    cutOff = await Fleet.start({
      redisUrl: proxy.url,
      queue,
      workers: 1,
      tasksModule: CHAOS_TASKS,
      options,
      env,
    });
    producer = new Producer({ connection: redisUrl(), queue, prefix });
  });

  afterAll(async () => {
    proxy?.thaw();
    await producer?.close();
    await other?.stop();
    await cutOff?.stop();
    await proxy?.close();
    await redis?.quit();
  });

  test('loses its permits to another worker (its tasks abort with PermitLostError), the limit holds, and it recovers when Redis answers again', async () => {
    const semaphore = new DistributedSemaphore(redis, 'x', { prefix });
    const [cutPid] = cutOff.pids as [number];
    const tg = producer.taskGroup({ name: 'interrupted' });
    const work = { keys, limit: LIMIT, holdMs: 20 };
    // Both permits held by the worker about to be cut off; its tasks retry after losing them.
    tg.createTask('work', { ...work, blockFirstAttempt: true }, { attempts: 2 });
    tg.createTask('work', { ...work, blockFirstAttempt: true }, { attempts: 2 });
    await cutOff.waitForCount(of(tg.id, 'inside'), 2);
    other = await Fleet.start({ redisUrl: redisUrl(), queue, workers: 1, tasksModule: CHAOS_TASKS, options });
    const [otherPid] = other.pids as [number];
    for (let i = 0; i < 6; i++) tg.createTask('work', work);
    await tg.drain();
    await expect.poll(async () => (await semaphore.status()).waiters.length).toBeGreaterThan(0);

    proxy.freeze();
    try {
      const lost = await cutOff.waitForCount(of(tg.id, 'aborted'), 2, 10_000);
      expect(lost.map((e) => e.code)).toEqual(['PERMIT_LOST', 'PERMIT_LOST']);
      expect(lost.map((e) => e.reasonName)).toEqual(['PermitLostError', 'PermitLostError']);
      // Still cut off, and the other worker has both permits: two of the waiting tasks run there.
      await other.waitForCount(of(tg.id, 'inside'), LIMIT, 10_000);
      const meanwhile = await semaphore.status();
      expect(meanwhile.holders.map((h) => h.owner)).not.toContain(`${hostname()}:${cutPid}`);
      expect(cutOff.count((e) => of(tg.id, 'inside')(e) && e.attempt === 2)).toBe(0);
    } finally {
      proxy.thaw();
    }
    // From now on only the recovered worker is there to finish the group and to run new work.
    await other.stop();
    other = undefined;
    const results = (await tg.wait()) as { index: number; pid: number }[];
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const next = producer.taskGroup({ name: 'after the cut-off' });
    for (let i = 0; i < 10; i++) next.createTask('work', work);
    const after = (await next.wait()) as { pid: number }[];
    expect(after.every((r) => r.pid === cutPid)).toBe(true);

    // Each task of the interrupted group completed once; the two that lost their permits ran twice.
    const runs = await readGroupRuns(redis, keys, tg.id);
    expect([...runs.completions.values()].map((pids) => pids.length)).toEqual(Array(8).fill(1));
    expect(runs.starts.get(0)).toHaveLength(2);
    expect(runs.starts.get(1)).toHaveLength(2);
    expect((await tg.status()).counts).toMatchObject({ total: 8, succeeded: 8, failed: 0, cancelled: 0 });
    expect(results.slice(2).some((r) => r.pid === otherPid)).toBe(true);

    const admissions = await readAdmissions(redis, counter);
    expect(admissions.over).toEqual([]);
    expect(admissions.peak).toBe(LIMIT);
    expect(admissions.insideNow).toBe(0);
    expect(await semaphore.status()).toMatchObject({ used: 0, holders: [] });
  });

  test('a lone DistributedSemaphore holder cut off gives its permit up a margin before anyone else can get it', async () => {
    const leaseMs = 1000;
    const name = `lone-${randomUUID().slice(0, 6)}`;
    const cut = new Redis(proxy.url, { maxRetriesPerRequest: null });
    try {
      const holder = new DistributedSemaphore(cut, name, { limit: 1, leaseMs, prefix });
      const other = new DistributedSemaphore(redis, name, { limit: 1, leaseMs, prefix });
      const permit = await holder.acquire();
      let lostAt = Number.POSITIVE_INFINITY;
      permit.lost.addEventListener('abort', () => {
        lostAt = performance.now();
      });

      proxy.freeze();
      const next = await other.acquire({ timeoutMs: 5000 });
      const grantedAt = performance.now();
      proxy.thaw();

      // The margin is a tenth of the lease: half of it is left even on a busy machine.
      expect(grantedAt - lostAt).toBeGreaterThanOrEqual(leaseMs / 20);
      console.log(
        `cut-off holder: gave its permit up ${Math.round(grantedAt - lostAt)} ms before the next grant`,
      );
      expect(permit.lost.reason).toMatchObject({ code: 'PERMIT_LOST' });
      expect(await permit.release()).toBe(false); // Redis had given it to `other`
      await next.release();
    } finally {
      proxy.thaw();
      cut.disconnect();
    }
  });
});
