import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../../infra/redis-cluster.ts';
import { Producer } from '../../producer/index.ts';
import { DistributedSemaphore, GroupCancelledError, GroupFailedError } from '../../shared/index.ts';
import { QueueKeys, semaphoreKeys } from '../../shared/keys.ts';
import { Fleet, type FleetOptions } from '../fleet/fleet.ts';
import type { FleetEvent } from '../fleet/report.ts';
import { runCli } from '../helpers/cli.ts';
import { runScript } from '../helpers/processes.ts';
import { uniqueQueue } from '../helpers/queues.ts';
import { eventOf as of } from '../helpers/use-fleet.ts';

/**
 * The fleet on a Redis Cluster of 3 masters: worker processes connect with a `redis+cluster://` URL,
 * producers and this test with `{ cluster: nodes }`. Every key of a queue shares the prefix's hash
 * tag; semaphores hash by their own name.
 */
let cluster: RedisCluster;
let admin: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
  admin = new Cluster([...cluster.nodes]);
  await admin.ping();
});

afterAll(async () => {
  await admin?.quit();
  await cluster?.stop();
});

const LIMIT_TASKS = new URL('../fleet/limit-tasks.ts', import.meta.url).href;

/** The master serving a key, as `host:port`. */
async function masterOf(key: string): Promise<string> {
  const slot = Number(await admin.cluster('KEYSLOT', key));
  const master = admin.slots[slot]?.[0];
  if (master === undefined) throw new Error(`no master for slot ${slot}`);
  return master;
}

/**
 * Worker processes of a queue on the cluster, and a producer for it; stopped after the block. The
 * prefix is read in beforeAll, so it may depend on what an earlier beforeAll found.
 */
function useClusterFleet(
  label: string,
  prefixOf: () => string,
  options: Omit<FleetOptions, 'redisUrl' | 'queue'>,
) {
  const queue = uniqueQueue(label);
  const state: { fleet?: Fleet; producer?: Producer; prefix?: string } = {};
  beforeAll(async () => {
    const prefix = prefixOf();
    state.prefix = prefix;
    state.fleet = await Fleet.start({
      ...options,
      options: { ...options.options, prefix },
      redisUrl: cluster.url,
      queue,
    });
    state.producer = new Producer({ connection: { cluster: [...cluster.nodes] }, queue, prefix });
  });
  afterAll(async () => {
    await state.producer?.close();
    await state.fleet?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the fleet starts in beforeAll');
    return value;
  };
  return {
    queue,
    get prefix(): string {
      return started(state.prefix);
    },
    get fleet(): Fleet {
      return started(state.fleet);
    },
    get producer(): Producer {
      return started(state.producer);
    },
  };
}

const peak = (events: readonly FleetEvent[]) => Math.max(...events.map((e) => Number(e.now)));

describe('task groups and cancellation on a cluster', () => {
  // 3 processes x 2 slots.
  const prefix = `{tf-${randomUUID().slice(0, 6)}}`;
  const t = useClusterFleet('cluster-groups', () => prefix, { workers: 3, options: { concurrency: 2 } });

  test('a group runs on several worker processes and its results come back in task order', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 30; i++) tg.createTask('echo', { i });
    const results = await tg.wait();
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => ({ i })));
    expect(new Set(t.fleet.events.filter(of(tg.id, 'entered')).map((e) => e.pid)).size).toBeGreaterThan(1);
    // The group's keys and the queue's BullMQ keys are all in the prefix's slot.
    const keys = new QueueKeys(t.prefix, t.queue);
    const slot = await admin.cluster('KEYSLOT', t.prefix);
    for (const key of [keys.group(tg.id).meta, keys.groups, keys.job(`${tg.id}.${tg.epoch}.0`)])
      expect(await admin.cluster('KEYSLOT', key)).toBe(slot);
  });

  test('the CLI takes the cluster as a redis+cluster:// URL, and refuses a prefix without a hash tag', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('echo', 'hi');
    await tg.wait();
    const target = ['--redis', cluster.url, '--queue', t.queue];
    const shown = await runCli(['status', tg.id, '--json', ...target, '--prefix', t.prefix]);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: tg.id, state: 'succeeded' });
    const refused = await runCli(['groups', ...target, '--prefix', 'taskfleet']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/hash tag, such as `\{taskfleet\}`/);
  });

  test('fail-fast: a failure cancels running siblings on other processes; queued ones never start', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 4; i++) tg.createTask('block', { tag: `runner-${i}` });
    const running = await t.fleet.waitForCount(of(tg.id, 'started'), 4);
    expect(new Set(running.map((e) => e.pid)).size).toBeGreaterThan(1);
    const failing = tg.createTask('fail', { message: 'the real failure' });
    for (let i = 0; i < 5; i++) tg.createTask('echo', { queued: i }, { delayMs: 60_000 });

    const error = await tg.wait().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GroupFailedError);
    const failed = error as GroupFailedError;
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatchObject({
      message: 'the real failure',
      task: { index: failing.index, taskName: 'fail' },
    });
    expect(failed.cancelled).toBe(9);
    const aborted = await t.fleet.waitForCount(of(tg.id, 'aborted'), 4);
    for (const event of aborted)
      expect(event).toMatchObject({ code: 'TASK_CANCELLED', cancelKind: 'failure' });
    expect(new Set(aborted.map((e) => e.pid)).size).toBeGreaterThan(1);
    expect(t.fleet.count(of(tg.id, 'entered'))).toBe(0);
  });

  test('a group cancelled from a third process stops on every worker, with the reason', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 4; i++) tg.createTask('block');
    const running = await t.fleet.waitForCount(of(tg.id, 'started'), 4);
    expect(new Set(running.map((e) => e.pid)).size).toBeGreaterThan(1);

    expect(
      await runScript('cancel-group.ts', [cluster.url, t.queue, tg.id, 'operator says stop', t.prefix]),
    ).toBe('cancelling');

    const error = await tg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupCancelledError);
    expect((error as GroupCancelledError).reason).toEqual({ kind: 'user', message: 'operator says stop' });
    const aborted = await t.fleet.waitForCount(of(tg.id, 'aborted'), 4);
    for (const event of aborted)
      expect(event).toMatchObject({ cancelKind: 'user', reason: 'operator says stop' });
  });
});

describe('semaphores on a cluster', () => {
  const prefix = `{tf-${randomUUID().slice(0, 6)}}`;
  // One task at a time per process, waiting ones included (maxParked 0): two tasks inside the limit at
  // once are two processes holding permits at once.
  const t = useClusterFleet('cluster-sem', () => prefix, {
    workers: 3,
    tasksModule: LIMIT_TASKS,
    options: { concurrency: 1, maxParked: 0, globalLimits: { api: 2 } },
  });
  const counter = () => `count:${randomUUID()}`;

  test('a fleet-wide limit holds across worker processes', async () => {
    const tg = t.producer.taskGroup();
    const key = counter();
    for (let i = 0; i < 12; i++) tg.createTask('callApi', { key, holdMs: 40 });
    await tg.wait();
    const inside = t.fleet.events.filter(of(tg.id, 'inside'));
    expect(inside).toHaveLength(12);
    expect(peak(inside)).toBe(2); // never more than the limit, and reached: by two processes
    expect(new Set(inside.map((e) => e.pid)).size).toBeGreaterThan(1);
    const semaphore = new DistributedSemaphore(admin, 'api', { prefix: t.prefix });
    expect(await semaphore.status()).toMatchObject({ limit: 2, used: 0, waiters: [] });
    // Its keys hash by its own name, not by the queue's tag.
    const [meta] = semaphoreKeys(t.prefix, 'api').list;
    expect(await admin.cluster('KEYSLOT', meta)).toBe(await admin.cluster('KEYSLOT', 'api'));
  });

  test('maxConcurrency: at most N tasks of a group run at once across the fleet', async () => {
    // Three processes could run three at once; the group allows two.
    const tg = t.producer.taskGroup({ maxConcurrency: 2 });
    const key = counter();
    for (let i = 0; i < 12; i++) tg.createTask('count', { key, holdMs: 40 });
    await tg.wait();
    expect(peak(t.fleet.events.filter(of(tg.id, 'inside')))).toBe(2);
  });

  test('a waiter wakes on a release by a holder on another process', async () => {
    const gate = new DistributedSemaphore(admin, 'gate', { prefix: t.prefix, limit: 1 });
    const held = await gate.acquire();
    const tg = t.producer.taskGroup();
    tg.createTask('throughGate');
    await t.fleet.waitFor(of(tg.id, 'waiting'));
    await expect.poll(async () => (await gate.status()).waiters.length).toBe(1);
    await held.release();
    const [token] = (await tg.wait()) as number[];
    expect(token).toBeGreaterThan(held.token);
    await gate.close();
  });
});

describe('independent queues spread over the shards', () => {
  // One hash tag per master: each queue's keys live on a shard of their own.
  const tags: string[] = [];
  const shared = `shared-${randomUUID().slice(0, 6)}`;
  const queues: ReturnType<typeof useClusterFleet>[] = [];
  beforeAll(async () => {
    const masters = new Set<string>();
    for (let i = 0; tags.length < 3 && i < 1000; i++) {
      const tag = `tf-shard-${i}`;
      const master = await masterOf(`{${tag}}`);
      if (masters.has(master)) continue;
      masters.add(master);
      tags.push(tag);
    }
    expect(masters.size).toBe(3);
  });
  for (let q = 0; q < 3; q++) {
    queues.push(
      useClusterFleet(`cluster-shard-${q}`, () => `{${tags[q]}}`, {
        workers: 1,
        tasksModule: LIMIT_TASKS,
        // Different prefixes, one namespace for the named limits: `api` is one limit for all three.
        options: { concurrency: 4, globalLimits: { api: 2 }, semaphorePrefix: shared },
      }),
    );
  }

  test('each queue lives on its own master, and one named limit spans them all', async () => {
    const key = `count:${randomUUID()}`;
    const groups = queues.map((t) => {
      const tg = t.producer.taskGroup();
      for (let i = 0; i < 6; i++) tg.createTask('callApi', { key, holdMs: 40 });
      return tg;
    });
    await Promise.all(groups.map((tg) => tg.wait()));

    const inside = queues.flatMap((t, q) => t.fleet.events.filter(of(groups[q]?.id ?? '', 'inside')));
    expect(inside).toHaveLength(18);
    expect(peak(inside)).toBe(2); // the shared limit, fleet-wide, over three shards

    const masters = new Set<string>();
    for (const [q, t] of queues.entries()) {
      const master = await masterOf(`{${tags[q]}}`);
      masters.add(master);
      // The queue's keys are on its master and nowhere else.
      for (const node of cluster.nodes) {
        const redis = new Redis(node.port, node.host);
        const keys = await redis.keys(`{${tags[q]}}:${t.queue}:*`);
        await redis.quit();
        if (`${node.host}:${node.port}` === master) expect(keys.length).toBeGreaterThan(0);
        else expect(keys).toEqual([]);
      }
    }
    expect(masters.size).toBe(3);
  });
});
