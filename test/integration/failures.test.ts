import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GroupClient } from '../../producer/group-client.ts';
import { resolveProducerOptions } from '../../producer/options.ts';
import { GroupCancelledError, GroupFailedError } from '../../shared/index.ts';
import { QueueKeys, taskJobId } from '../../shared/keys.ts';
import { Reconciler } from '../../worker/reconciler.ts';
import { killProcess, startScript } from '../helpers/processes.ts';
import { redisUrl } from '../helpers/queues.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

/** Short locks and leases, so crashes are noticed in seconds rather than BullMQ's default 30 s. */
const fast = {
  lockDurationMs: 2000,
  stalledIntervalMs: 1000,
  maintenanceIntervalMs: 200,
  cancelPollMs: 60_000,
};

describe('deadlines and lost producers', () => {
  const t = useFleet('lifetimes', { workers: 2, options: { concurrency: 2, ...fast } });

  test('past its deadline a group is cancelled with reason `deadline`', async () => {
    const tg = t.producer.taskGroup({ deadlineMs: 500 });
    tg.createTask('block');
    tg.createTask('echo', 'done in time');
    const error = await tg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupCancelledError);
    expect((error as GroupCancelledError).reason.kind).toBe('deadline');
    expect(await t.fleet.waitFor(of(tg.id, 'aborted'))).toMatchObject({ cancelKind: 'deadline' });
    expect((await tg.status()).counts).toMatchObject({ succeeded: 1, cancelled: 1 });
  });

  test('the deadline holds with no producer alive', async () => {
    const id = `deadline-${t.queue}`;
    const child = await startScript(
      'producer-process.ts',
      [redisUrl(), t.queue, id, '{"deadlineMs":800}', 'block', '2', 'close'],
      'sent',
    );
    await t.fleet.waitForCount(of(id, 'started'), 2);
    await killProcess(child);
    const error = await t.producer
      .group(id)
      .wait()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GROUP_CANCELLED', reason: { kind: 'deadline' } });
    await t.fleet.waitForCount(of(id, 'aborted'), 2);
  });

  test('a producer that dies before closing its group: the group is cancelled and closed when its lease runs out', async () => {
    const id = `orphan-${t.queue}`;
    const child = await startScript(
      'producer-process.ts',
      [redisUrl(), t.queue, id, '{"leaseMs":1000}', 'block', '1'],
      'sent',
    );
    await t.fleet.waitFor(of(id, 'started'));
    expect((await t.producer.group(id).status()).state).toBe('open');
    await killProcess(child);
    const error = await t.producer
      .group(id)
      .wait()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'GROUP_CANCELLED', reason: { kind: 'producer-lost' } });
    expect(await t.fleet.waitFor(of(id, 'aborted'))).toMatchObject({ cancelKind: 'producer-lost' });
    expect(await t.producer.group(id).status()).toMatchObject({ state: 'cancelled', closed: true });
  });

  test('a Redis error while sending: the group is cancelled (`producer-error`) and closed, and wait() rejects with that error', async () => {
    const redis = new Redis(redisUrl());
    try {
      const tg = t.producer.taskGroup();
      const running = tg.createTask('block');
      await tg.drain();
      await t.fleet.waitFor(of(tg.id, 'started'));
      // BullMQ cannot add a job whose key holds a list: the next addBulk fails for good.
      const next = taskJobId(tg.id, tg.epoch, running.index + 1);
      await redis.rpush(new QueueKeys('taskfleet', t.queue).job(next), 'in the way');
      expect(tg.createTask('echo', 'never sent').id).toBe(next);

      const error = await tg.wait().catch((e: unknown) => e);

      expect((error as Error).message).toMatch(/^WRONGTYPE/);
      expect(await t.fleet.waitFor(of(tg.id, 'aborted'))).toMatchObject({ cancelKind: 'producer-error' });
      expect(await tg.status()).toMatchObject({
        state: 'cancelled',
        closed: true,
        reason: { kind: 'producer-error' },
        counts: { total: 2, cancelled: 2 },
      });
    } finally {
      await redis.quit();
    }
  });
});

describe('workers that die or lose their subscription', () => {
  const t = useFleet('crashes', { workers: 2, options: { concurrency: 2, ...fast } });
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  test('a worker killed with SIGKILL mid-task: the task runs again elsewhere, the group completes and counts it once', async () => {
    const tg = t.producer.taskGroup();
    const slow = tg.createTask('sleep', { ms: 1500, value: 'survived' });
    for (let i = 0; i < 20; i++) tg.createTask('echo', i);
    const first = await t.fleet.waitFor((e) => of(tg.id, 'started')(e) && e.index === slow.index);
    await t.fleet.kill(first.pid);

    const results = await tg.wait();

    expect(results).toEqual(['survived', ...Array.from({ length: 20 }, (_, i) => i)]);
    const runs = t.fleet.events.filter((e) => of(tg.id, 'started')(e) && e.index === slow.index);
    expect(runs).toHaveLength(2);
    expect(runs[1]?.pid).not.toBe(first.pid);
    expect((await tg.status()).counts).toMatchObject({
      total: 21,
      succeeded: 21,
      failed: 0,
      cancelled: 0,
      running: 0,
    });
    await t.fleet.add(); // back to two processes
  });

  test('a worker whose subscriber connection is killed just before the broadcast still cancels its running task', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('block', { tag: 'deaf' });
    await t.fleet.waitFor(of(tg.id, 'started'));
    // This queue's workers' subscriber connections only (other test files share this Redis).
    const clients = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const ids = clients
      .split('\n')
      .filter((line) => line.includes(`name=taskfleet:${t.queue}:worker:sub `))
      .map((line) => /id=(\d+)/.exec(line)?.[1]);
    expect(ids.length).toBe(2);
    for (const id of ids) await redis.client('KILL', 'ID', String(id));
    // The broadcast goes out while the subscribers are reconnecting: they miss it.
    await tg.cancel('while they were away');
    // cancelPollMs is 60 s here: only the re-check after the reconnect can catch it.
    expect(await t.fleet.waitFor(of(tg.id, 'aborted'), 10_000)).toMatchObject({
      cancelKind: 'user',
      reason: 'while they were away',
    });
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
  });
});

describe('closing a worker', () => {
  const t = useFleet('shutdown', { workers: 1, options: { concurrency: 2, shutdownGraceMs: 300 } });

  test('running tasks get a grace period, then go back to the queue and run again on another worker', async () => {
    const tg = t.producer.taskGroup();
    const quick = tg.createTask('sleep', { ms: 100, value: 'finished within the grace period' });
    const endless = tg.createTask('block', { tag: 'endless' });
    await t.fleet.waitForCount(of(tg.id, 'started'), 2);
    const [oldPid] = t.fleet.pids;

    await t.fleet.stop(); // SIGTERM: worker.close()

    expect(await t.fleet.waitFor(of(tg.id, 'aborted'))).toMatchObject({
      pid: oldPid,
      cancelKind: 'shutdown',
    });
    expect(t.fleet.count((e) => of(tg.id, 'finished')(e) && e.index === quick.index)).toBe(1);
    const newPid = await t.fleet.add();
    const again = await t.fleet.waitFor(
      (e) => of(tg.id, 'started')(e) && e.index === endless.index && e.pid === newPid,
    );
    expect(again.attempt).toBe(1); // going back to the queue does not use up an attempt
    const status = await tg.status();
    expect(status.counts).toMatchObject({ succeeded: 1, running: 1 });
    await tg.cancel();
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
  });
});

describe('tasks that lose their job', () => {
  const t = useFleet('lost', { workers: 1, options: { ...fast, staleGroupMs: 1000 } });

  test('a job removed from BullMQ by hand: the stuck group is reconciled and the task fails with TaskLostError', async () => {
    const tg = t.producer.taskGroup({ policy: 'all-settled' });
    tg.createTask('echo', 'ran');
    const removed = tg.createTask('echo', 'never', { delayMs: 600_000 });
    await tg.drain();
    const bull = new Queue(t.queue, { connection: { url: redisUrl() }, prefix: 'taskfleet' });
    expect(await bull.remove(removed.id)).toBe(1);
    await bull.close();

    const outcomes = await tg.wait();

    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'ran' });
    const lost = outcomes[1];
    if (lost?.status !== 'rejected') throw new Error('expected the removed task to fail');
    expect(lost.reason.remote).toMatchObject({ name: 'TaskLostError', code: 'TASK_LOST' });
    expect(lost.reason.message).toBe(`task ${removed.index} was lost: its job no longer exists`);
  });

  test('a task whose job is still on its way is not judged lost', async () => {
    const client = new GroupClient(
      resolveProducerOptions({ connection: redisUrl(), queue: t.queue }),
      'test',
    );
    const bull = new Queue(t.queue, { connection: { url: redisUrl() }, prefix: 'taskfleet' });
    try {
      const tg = t.producer.taskGroup();
      await tg.ready();
      const reconciler = new Reconciler(client, 100);
      await expect
        .poll(async () => (await client.scripts.statusAndIdle(tg.id))?.idleMs ?? 0)
        .toBeGreaterThanOrEqual(100);
      // What GroupClient.send does, cut in two: the index is allocated ...
      expect(await client.scripts.addTasks(tg.id, 1)).toBe(0);
      // ... a stale scan looks at the group right then ...
      expect(await reconciler.reconcile(tg.id)).toBe(0);
      // ... and the job arrives.
      await bull.add('echo', { d: 'arrived' }, { jobId: taskJobId(tg.id, tg.epoch, 0) });
      expect(await tg.wait()).toEqual(['arrived']);
    } finally {
      await bull.close();
      await client.close();
    }
  });

  test("a failed job left from an earlier group with the same id does not settle the new group's task", async () => {
    const tg = t.producer.taskGroup();
    const queued = tg.createTask('echo', 'later', { delayMs: 600_000 });
    await tg.drain();
    const client = new GroupClient(
      resolveProducerOptions({ connection: redisUrl(), queue: t.queue }),
      'test',
    );
    try {
      // What the worker does when BullMQ fails a job on its own; that job's id names an earlier epoch,
      // whose job is long gone.
      await new Reconciler(client, 1000).checkJob(taskJobId(tg.id, 'earlier', queued.index));
      expect((await tg.status()).counts).toMatchObject({ total: 1, pending: 1, failed: 0 });
    } finally {
      await client.close();
      await tg.cancel('done');
      await expect(tg.wait()).rejects.toMatchObject({ code: 'GROUP_CANCELLED' });
    }
  });
});

describe('tasks whose worker keeps dying', () => {
  // No stale scan within the test: only the fast path (BullMQ's 'failed' event) can settle the task.
  const options = { concurrency: 2, ...fast, staleGroupMs: 600_000, maxStalledCount: 0 };
  const t = useFleet('stalls', { workers: 2, options });

  test('are failed by BullMQ after maxStalledCount stalls, and the group hears of it at once', async () => {
    const tg = t.producer.taskGroup();
    const doomed = tg.createTask('sleep', { ms: 60_000 });
    const first = await t.fleet.waitFor((e) => of(tg.id, 'started')(e) && e.index === doomed.index);
    await t.fleet.kill(first.pid); // maxStalledCount 0: one stall is too many

    const error = (await tg.wait().catch((e: unknown) => e)) as GroupFailedError;

    expect(error).toBeInstanceOf(GroupFailedError);
    expect(error.errors[0]?.remote.code).toBe('TASK_LOST');
    expect(error.errors[0]?.message).toMatch(/job stalled more than allowable limit/);
    expect(t.fleet.count((e) => of(tg.id, 'started')(e) && e.index === doomed.index)).toBe(1);
  });
});
