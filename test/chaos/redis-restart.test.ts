import { Redis } from 'ioredis';
import { afterEach, describe, expect, test } from 'vitest';
import { Producer, type TaskGroup } from '../../producer/index.ts';
import { DistributedSemaphore, GroupNotFoundError } from '../../shared/index.ts';
import { admissionKeys, readAdmissions } from '../fleet/admission-counter.ts';
import { Fleet } from '../fleet/fleet.ts';
import { readGroupRuns } from '../helpers/group-runs.ts';
import { uniqueQueue } from '../helpers/queues.ts';
import { AOF_EVERYSEC, RestartableRedis } from '../helpers/restartable-redis.ts';
import { eventOf as of } from '../helpers/use-fleet.ts';

const CHAOS_TASKS = new URL('../fleet/chaos-tasks.ts', import.meta.url).href;
const LIMIT = 3;
const prefix = 'chaos-restart';
const keys = `${prefix}:check`;
const counter = admissionKeys(keys);
const workerOptions = {
  prefix,
  concurrency: 3,
  globalLimits: { x: LIMIT },
  permitLeaseMs: 5000,
  // Short enough that a job lost in flight during the restart would come back within the test.
  lockDurationMs: 3000,
  stalledIntervalMs: 1000,
};

/** One private Redis per test (this file restarts it), with a fleet and a producer on it. */
interface Setup {
  server: RestartableRedis;
  fleet: Fleet;
  producer: Producer;
  redis: Redis;
}
let setup: Setup | undefined;

async function start(args: readonly string[]): Promise<Setup> {
  const server = await RestartableRedis.start(args);
  const partial: Partial<Setup> = { server };
  setup = partial as Setup;
  partial.redis = new Redis(server.url, { maxRetriesPerRequest: null });
  partial.redis.on('error', () => undefined); // the restart resets it; it reconnects by itself
  const queue = uniqueQueue('chaos-restart');
  partial.fleet = await Fleet.start({
    redisUrl: server.url,
    queue,
    workers: 3,
    tasksModule: CHAOS_TASKS,
    options: workerOptions,
  });
  partial.producer = new Producer({ connection: server.url, queue, prefix });
  return partial as Setup;
}

afterEach(async () => {
  const s = setup as Partial<Setup> | undefined;
  setup = undefined;
  await s?.server?.up().catch(() => undefined); // so the workers can close gracefully
  await s?.producer?.close();
  await s?.fleet?.stop();
  s?.redis?.disconnect();
  await s?.server?.close();
});

function createWork(tg: TaskGroup, count: number): void {
  for (let i = 0; i < count; i++) tg.createTask('work', { keys, limit: LIMIT, holdMs: 10 + ((i * 7) % 20) });
}

describe('Redis restarted mid-run', () => {
  test('with AOF (appendonly yes, appendfsync everysec) and a graceful restart: workers and producer reconnect by themselves, groups finish, no task lost or run twice, the limit holds', async () => {
    const { server, fleet, producer, redis } = await start(AOF_EVERYSEC);
    const first = producer.taskGroup({ name: 'across the restart' });
    createWork(first, 300);
    await first.close();
    const firstDone = first.wait();
    await fleet.waitForCount(of(first.id, 'inside'), 100);

    await server.down();
    // While Redis is down: a new group is created and fed; its commands wait for the reconnect.
    const second = producer.taskGroup({ name: 'created while Redis was down' });
    createWork(second, 100);
    const secondDone = second.wait();
    const downFor = Date.now();
    await server.up();
    const restartMs = Date.now() - downFor;

    const [firstResults, secondResults] = (await Promise.all([firstDone, secondDone])) as {
      index: number;
    }[][];
    for (const [tg, results, total] of [
      [first, firstResults, 300],
      [second, secondResults, 100],
    ] as const) {
      expect(results?.map((v) => v.index)).toEqual(Array.from({ length: total }, (_, i) => i));
      expect((await tg.status()).counts).toEqual({
        total,
        succeeded: total,
        failed: 0,
        cancelled: 0,
        running: 0,
        pending: 0,
      });
      const runs = await readGroupRuns(redis, keys, tg.id);
      // Nothing was killed: every task started once and completed once.
      expect([...runs.starts.values()].every((pids) => pids.length === 1)).toBe(true);
      expect(runs.starts.size).toBe(total);
      expect([...runs.completions.values()].every((pids) => pids.length === 1)).toBe(true);
      expect(runs.completions.size).toBe(total);
    }
    // Every worker kept going after the restart: the group created while Redis was down ran on all three.
    const after = fleet.events.filter(of(second.id, 'inside'));
    expect(new Set(after.map((e) => e.pid)).size).toBe(3);

    const admissions = await readAdmissions(redis, counter);
    expect(admissions.over).toEqual([]);
    expect(admissions.peak).toBe(LIMIT);
    expect(admissions.insideNow).toBe(0);
    expect(await new DistributedSemaphore(redis, 'x', { prefix }).status()).toMatchObject({
      used: 0,
      holders: [],
      waiters: [],
    });
    console.log(`redis restart (AOF everysec, graceful): Redis was back ${restartMs} ms after it stopped`);
  });

  test('with persistence off, a restart loses every group and queued task: waiting on a group fails with GroupNotFoundError instead of hanging', async () => {
    const { server, fleet, producer } = await start([]);
    const tg = producer.taskGroup({ name: 'forgotten' });
    createWork(tg, 300);
    await tg.close();
    const waiting = tg.wait().catch((e: unknown) => e);
    await fleet.waitForCount(of(tg.id, 'inside'), 30);

    await server.down();
    await server.up();

    expect(await waiting).toBeInstanceOf(GroupNotFoundError);
    // The workers are still up: a new group on the empty Redis runs to the end.
    const again = producer.taskGroup({ name: 'after the restart' });
    createWork(again, 20);
    expect(await again.wait()).toHaveLength(20);
  });
});
