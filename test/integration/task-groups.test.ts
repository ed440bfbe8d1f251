import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { GroupClient } from '../../producer/group-client.ts';
import { Producer, type TaskGroup } from '../../producer/index.ts';
import { resolveProducerOptions } from '../../producer/options.ts';
import { cancelReason } from '../../shared/cancel-reason.ts';
import { GroupScripts } from '../../shared/group-protocol/group-scripts.ts';
import {
  DataTooLargeError,
  DuplicateGroupError,
  GroupFailedError,
  GroupNotFoundError,
  GroupNotOpenError,
  TaskDataError,
  TaskFailedError,
  UnknownTaskError,
} from '../../shared/index.ts';
import { QueueKeys } from '../../shared/keys.ts';
import { loadScripts } from '../../shared/lua-scripts.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const t = useFleet('groups', { workers: 2, options: { concurrency: 4 } });

const entered = (tg: TaskGroup, index: number) => (e: { kind: string; group?: unknown; index?: unknown }) =>
  e.kind === 'entered' && e.group === tg.id && e.index === index;

describe('results', () => {
  test('come back in creation order, like gather', async () => {
    const results = await t.producer.taskGroup({}, (tg) => {
      for (let i = 0; i < 200; i++) tg.createTask('echo', { i });
    });
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
  });

  test('ran on more than one worker process', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 100; i++) tg.createTask('echo', i);
    await tg.wait();
    const pids = new Set(
      t.fleet.events.filter((e) => e.kind === 'entered' && e.group === tg.id).map((e) => e.pid),
    );
    expect(pids.size).toBe(2);
  });

  test('await using: leaving the block waits for every task', async () => {
    let tg: TaskGroup | undefined;
    {
      await using group = t.producer.taskGroup();
      tg = group;
      group.createTask('sleep', { ms: 50, value: 'late' });
    }
    const status = await tg.status();
    expect(status.state).toBe('succeeded');
    expect(status.counts).toMatchObject({ total: 1, succeeded: 1, running: 0, pending: 0 });
  });
});

describe('late tasks', () => {
  test('the producer adds a task after others have run', async () => {
    const tg = t.producer.taskGroup();
    const first = tg.createTask('echo', 'first');
    await t.fleet.waitFor(entered(tg, first.index));
    const late = tg.createTask('echo', 'late');
    expect(late.index).toBe(1);
    expect(await tg.wait()).toEqual(['first', 'late']);
  });

  test('a running task adds a sibling to its own group', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('addSibling', { name: 'echo', data: 'from a task' });
    tg.createTask('echo', 'from the producer');
    // The sibling is created after the producer's two tasks, so it comes third.
    expect(await tg.wait()).toEqual([2, 'from the producer', 'from a task']);
  });

  test("a producer's unsent tasks move down when a running task takes the next index", async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('sleep', { ms: 1, value: 'a' });
    await tg.drain();
    const sibling = new GroupClient(
      resolveProducerOptions({ connection: redisUrl(), queue: t.queue }),
      'test',
    );
    try {
      // What ctx.createTask does on a worker, while the producer is about to send its next task.
      const taken = await sibling.send(tg, [{ name: 'echo', data: 'sibling', options: undefined }]);
      expect(taken).toBe(1);
      const next = tg.createTask('echo', 'b');
      expect(next.index).toBe(1); // provisional
      await tg.drain();
      expect(next.index).toBe(2);
      expect(next.id).toBe(`${tg.id}.${tg.epoch}.2`);
      expect(await tg.wait()).toEqual(['a', 'sibling', 'b']);
    } finally {
      await sibling.close();
    }
  });
});

describe('a group id used again after its retention', () => {
  test('a job left from the earlier group never runs in the new one, nor counts there', async () => {
    const id = `again-${t.queue}`;
    const bull = new Queue(t.queue, { connection: { url: redisUrl() }, prefix: 'taskfleet' });
    const redis = new Redis(redisUrl());
    try {
      const earlier = t.producer.taskGroup({ id, retentionMs: 1 });
      // Delayed, so its job is still queued when the group is gone; promoted by hand below.
      const old = earlier.createTask('echo', 'old', { delayMs: 600_000 });
      await earlier.drain();
      await earlier.cancel('stop');
      // Cancelled, or already expired by the time wait() reads it (1 ms retention): gone either way.
      await earlier.wait().catch(() => undefined);
      await expect.poll(() => redis.exists(new QueueKeys('taskfleet', t.queue).group(id).meta)).toBe(0);

      const again = t.producer.taskGroup({ id });
      const fresh = again.createTask('echo', 'new', { delayMs: 600_000 });
      await again.drain();
      expect(fresh.index).toBe(old.index);
      // The old job reaches a worker first, while the new group's task with the same index is queued.
      await (await bull.getJob(old.id))?.promote();
      await expect.poll(async () => (await bull.getJob(old.id))?.getState()).toBe('completed');
      expect((await again.status()).counts).toMatchObject({ total: 1, pending: 1, running: 0 });
      await (await bull.getJob(fresh.id))?.promote();
      expect(await again.wait()).toEqual(['new']);
      expect((await again.status()).counts).toMatchObject({ total: 1, succeeded: 1 });
    } finally {
      await bull.close();
      await redis.quit();
    }
  });

  test("an earlier group's handle acts on that group only, never on the new one under its id", async () => {
    const id = `handles-${t.queue}`;
    // Its own producer, with a short lease: its renewals (every leaseMs / 3) are seen within a second.
    const producer = new Producer({ connection: redisUrl(), queue: t.queue, leaseMs: 900 });
    const redis = new Redis(redisUrl());
    const keys = new QueueKeys('taskfleet', t.queue);
    const meta = keys.group(id).meta;
    try {
      const earlier = producer.taskGroup({ id, retentionMs: 1 });
      const old = earlier.createTask('echo', 'old', { delayMs: 600_000 });
      await earlier.drain();
      // Its producer stalls past its lease: maintenance cancels and closes the group (as here), and
      // after its retention the id is free, while the handle, never closed, lives on.
      const maintenance = new GroupScripts(redis, keys);
      await maintenance.cancel(id, cancelReason('producer-lost', 'its lease ran out'));
      await maintenance.close(id);
      await expect.poll(() => redis.exists(meta)).toBe(0);
      const again = producer.taskGroup({ id });
      const fresh = again.createTask('echo', 'new', { delayMs: 600_000 });
      await again.drain();

      earlier.createTask('echo', 'stray');
      await expect(earlier.drain()).rejects.toBeInstanceOf(GroupNotFoundError);
      await expect(earlier.status()).rejects.toBeInstanceOf(GroupNotFoundError);
      await expect(earlier.cancel('late')).rejects.toBeInstanceOf(GroupNotFoundError);
      // Task 0 of the earlier group, not of the new one (the same index).
      expect(fresh.index).toBe(old.index);
      await expect(old.cancel()).rejects.toBeInstanceOf(GroupNotFoundError);
      await expect(earlier.wait()).rejects.toBeInstanceOf(GroupNotFoundError);
      expect(await again.status()).toMatchObject({ state: 'open', counts: { total: 1, pending: 1 } });
      // wait() closed the earlier handle: the new group stays open, and its lease is still renewed.
      const leaseUntil = Number(await redis.hget(meta, 'leaseUntil'));
      await expect
        .poll(async () => Number(await redis.hget(meta, 'leaseUntil')), { timeout: 3000 })
        .toBeGreaterThan(leaseUntil);
      expect((await again.status()).state).toBe('open');
      expect(await fresh.cancel()).toBe('cancelled');
      await again.close();
      expect((await again.status()).state).toBe('succeeded');
    } finally {
      await producer.close();
      await redis.quit();
    }
  });

  test("an earlier group's lease renewals never keep the new group under its id alive", async () => {
    const id = `leases-${t.queue}`;
    const producer = new Producer({ connection: redisUrl(), queue: t.queue, leaseMs: 900 });
    const redis = new Redis(redisUrl());
    const keys = new QueueKeys('taskfleet', t.queue);
    const meta = keys.group(id).meta;
    const scripts = new GroupScripts(redis, keys);
    const leaseUntil = async (key: string) => Number(await redis.hget(key, 'leaseUntil'));
    try {
      const earlier = producer.taskGroup({ id, retentionMs: 1 });
      earlier.createTask('echo', 'old', { delayMs: 600_000 });
      await earlier.drain();
      // Renewed by the same producer in the same round trips as the earlier group, after it: when its
      // lease has moved twice, the earlier group's renewal has reached Redis after the new group's creation.
      const control = producer.taskGroup({ id: `control-${t.queue}` });
      control.createTask('echo', 'control', { delayMs: 600_000 });
      await control.drain();
      await scripts.cancel(id, cancelReason('producer-lost', 'its lease ran out'));
      await scripts.close(id);
      await expect.poll(() => redis.exists(meta)).toBe(0);
      // Another producer creates the id again and dies at once: nobody may renew that lease.
      await scripts.create(id, {
        name: '',
        policy: 'fail-fast',
        deadlineMs: 0,
        leaseMs: 900,
        retentionMs: 60_000,
        parent: '',
        epoch: 'elsewhere',
        maxConcurrency: 0,
      });
      const created = await leaseUntil(meta);
      const controlMeta = keys.group(control.id).meta;
      for (let round = 0; round < 2; round++) {
        const before = await leaseUntil(controlMeta);
        await expect.poll(() => leaseUntil(controlMeta), { timeout: 3000 }).toBeGreaterThan(before);
      }
      expect(await leaseUntil(meta)).toBe(created);
      await control.cancel();
    } finally {
      await producer.close();
      await redis.quit();
    }
  });
});

describe('a connection lost before a reply (ioredis resends the command)', () => {
  const scripts = loadScripts(fileURLToPath(new URL('../../shared/group-protocol/', import.meta.url)));
  const lua = (name: string) => scripts.get(name)?.lua ?? '';
  /** A call of the script on that key, sent as EVALSHA (plain calls) or EVAL (pipelines). */
  const callOf = (name: string, key: string) => (sent: string) =>
    sent.includes(key) &&
    (sent.includes(createHash('sha1').update(lua(name)).digest('hex')) || sent.includes(lua(name)));

  test('a create and an add-tasks whose replies were lost take effect once', async () => {
    const proxy = await TcpProxy.start(new URL(redisUrl()));
    const producer = new Producer({ connection: proxy.url, queue: t.queue });
    const redis = new Redis(redisUrl());
    try {
      // Known to Redis, so a swallowed EVALSHA ran (rather than failing with NOSCRIPT).
      for (const name of ['create-group', 'add-tasks']) await redis.script('LOAD', lua(name));
      const id = `resent-${t.queue}`;
      const meta = new QueueKeys('taskfleet', t.queue).group(id).meta;
      proxy.swallowRepliesAfter(callOf('create-group', meta));
      const tg = producer.taskGroup({ id });
      await expect.poll(() => redis.exists(meta)).toBe(1);
      proxy.drop();
      await tg.ready(); // not DuplicateGroupError: the resent create found its own group

      proxy.swallowRepliesAfter(callOf('add-tasks', meta));
      const ref = tg.createTask('echo', 'once');
      await expect.poll(() => redis.hget(meta, 'total')).toBe('1');
      proxy.drop();
      await tg.drain();
      expect(ref.index).toBe(0);
      expect((await tg.status()).counts.total).toBe(1);
      expect(await tg.wait()).toEqual(['once']);
    } finally {
      await producer.close();
      await redis.quit();
      await proxy.close();
    }
  });
});

describe('policies and retries', () => {
  test('all-settled reports every outcome and cancels nothing', async () => {
    const tg = t.producer.taskGroup({ policy: 'all-settled' });
    tg.createTask('echo', 1);
    tg.createTask('fail', { message: 'nope' });
    tg.createTask('sleep', { ms: 100, value: 3 });
    const outcomes = await tg.wait();
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 3 });
    const failure = outcomes[1];
    if (failure?.status !== 'rejected') throw new Error('expected a rejection');
    expect(failure.reason).toBeInstanceOf(TaskFailedError);
    expect(failure.reason).toMatchObject({
      code: 'TASK_FAILED',
      message: 'nope',
      task: { index: 1, taskName: 'fail' },
    });
    expect(failure.reason.remote).toMatchObject({ name: 'Error', code: 'E_TEST' });
    expect(failure.reason.stack).toContain('tasks.ts');
    expect((await tg.status()).state).toBe('failed');
  });

  test('only the last attempt’s failure counts: a retried task that then succeeds does not fail the group', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('flaky', { failOn: [1], value: 'second time' }, { attempts: 2 });
    expect(await tg.wait()).toEqual(['second time']);
    expect(t.fleet.count((e) => e.kind === 'attempt' && e.group === tg.id)).toBe(2);
  });

  test('a task that fails every attempt fails the group once', async () => {
    const tg = t.producer.taskGroup();
    const ref = tg.createTask('flaky', { failOn: [1, 2, 3] }, { attempts: 3, backoff: 10 });
    const error = await tg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupFailedError);
    expect((error as GroupFailedError).errors).toHaveLength(1);
    expect((error as GroupFailedError).errors[0]?.message).toBe('failed attempt 3');
    const bull = new Queue(t.queue, { connection: { url: redisUrl() }, prefix: 'taskfleet' });
    const job = await bull.getJob(ref.id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(3);
    await bull.close();
  });
});

describe('job retention (BullMQ removeOnComplete / removeOnFail)', () => {
  const bull = () => new Queue(t.queue, { connection: { url: redisUrl() }, prefix: 'taskfleet' });

  test('by default the workers keep the last 1,000 completed jobs, and jobs do not carry the default', async () => {
    const tg = t.producer.taskGroup();
    let last = tg.createTask('echo', 0);
    for (let i = 1; i < 1003; i++) last = tg.createTask('echo', i);
    await tg.wait();
    const queue = bull();
    try {
      // The group hears of an outcome before BullMQ does: wait until BullMQ has moved every job.
      await expect.poll(() => queue.getActiveCount()).toBe(0);
      expect(await queue.getCompletedCount()).toBe(1000);
      const job = await queue.getJob(last.id);
      expect(await job?.getState()).toBe('completed');
      expect(job?.opts).not.toHaveProperty('removeOnComplete');
      expect(job?.opts).not.toHaveProperty('removeOnFail');
    } finally {
      await queue.close();
    }
  }, 30_000);

  test("a producer's own retention goes on its jobs and wins over the workers' default", async () => {
    const producer = new Producer({
      connection: redisUrl(),
      queue: t.queue,
      removeOnComplete: true,
      removeOnFail: true,
    });
    const queue = bull();
    try {
      const tg = producer.taskGroup({ policy: 'all-settled' });
      const ok = tg.createTask('echo', 1);
      const failed = tg.createTask('fail', { message: 'gone' });
      const outcomes = await tg.wait();
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
      // The group hears of an outcome before BullMQ does (see Architecture): the jobs go just after.
      await expect.poll(() => queue.getJob(ok.id)).toBeUndefined();
      await expect.poll(() => queue.getJob(failed.id)).toBeUndefined();
    } finally {
      await queue.close();
      await producer.close();
    }
  });
});

describe('bad input', () => {
  test('data JSON cannot carry is refused at createTask; what was accepted still runs', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('echo', 'kept');
    expect(() => tg.createTask('echo', { f: () => 1 })).toThrow(TaskDataError);
    expect(() => tg.createTask('echo', { n: 10n })).toThrow(TaskDataError);
    expect(() => tg.createTask('echo', { when: new Map() })).toThrow(/Map/);
    expect(() => tg.createTask('echo', Number.NaN)).toThrow(TaskDataError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => tg.createTask('echo', cyclic)).toThrow(TaskDataError);
    expect(() => tg.createTask('', 1)).toThrow(/task name/);
    expect(await tg.wait()).toEqual(['kept']);
  });

  test('data over the size limit is refused with DataTooLargeError (a RangeError)', async () => {
    const small = new Producer({ connection: redisUrl(), queue: t.queue, maxDataBytes: 1000 });
    try {
      const tg = small.taskGroup();
      tg.createTask('echo', 'x'.repeat(900));
      const error = (() => {
        try {
          tg.createTask('echo', 'é'.repeat(600)); // 1200 bytes of UTF-8
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(DataTooLargeError);
      expect(error).toBeInstanceOf(RangeError);
      expect(error).toMatchObject({ code: 'DATA_TOO_LARGE', bytes: 1202, limit: 1000 });
      expect(await tg.wait()).toEqual(['x'.repeat(900)]);
    } finally {
      await small.close();
    }
  });

  test('an unknown task name fails at createTask when the producer declares its tasks', async () => {
    const strict = new Producer({ connection: redisUrl(), queue: t.queue, tasks: ['echo'] });
    try {
      const tg = strict.taskGroup();
      expect(() => tg.createTask('ecko', 1)).toThrow(UnknownTaskError);
      expect(() => tg.createTask('ecko', 1)).toThrow('Unknown task `ecko` (known: echo)');
      tg.createTask('echo', 1);
      expect(await tg.wait()).toEqual([1]);
    } finally {
      await strict.close();
    }
  });

  test('an unknown task name fails its task on the worker, clearly, without retries', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('no-such-task', 1, { attempts: 3 });
    const error = (await tg.wait().catch((e: unknown) => e)) as GroupFailedError;
    expect(error).toBeInstanceOf(GroupFailedError);
    expect(error.errors[0]?.remote).toMatchObject({ name: 'UnknownTaskError', code: 'UNKNOWN_TASK' });
    expect(error.errors[0]?.message).toMatch(/^Unknown task `no-such-task` \(known: .*echo/);
  });

  test('a result JSON cannot carry fails the task', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('badResult');
    const error = (await tg.wait().catch((e: unknown) => e)) as GroupFailedError;
    expect(error.errors[0]?.remote.code).toBe('TASK_DATA_INVALID');
  });

  test('a group id already in use is refused; the existing group is untouched', async () => {
    const first = t.producer.taskGroup({ id: `dup-${t.queue}` });
    first.createTask('echo', 'first');
    await first.ready();
    const second = t.producer.taskGroup({ id: `dup-${t.queue}` });
    await expect(second.ready()).rejects.toBeInstanceOf(DuplicateGroupError);
    expect(() => second.createTask('echo', 'second')).toThrow(DuplicateGroupError);
    await expect(second.wait()).rejects.toMatchObject({ code: 'DUPLICATE_GROUP' });
    expect(await first.wait()).toEqual(['first']);
  });

  test('a group id already in use, on a group left with no tasks: refused, and the existing group stays open', async () => {
    const id = `dup-empty-${t.queue}`;
    const first = t.producer.taskGroup({ id });
    await first.ready();
    // Leaves its block at once, before its create has been answered.
    const second = t.producer.taskGroup({ id });
    await expect(second.wait()).rejects.toBeInstanceOf(DuplicateGroupError);
    expect(await first.status()).toMatchObject({ state: 'open', closed: false });
    first.createTask('echo', 'first');
    expect(await first.wait()).toEqual(['first']);
  });

  test('bad options name the option and the value', async () => {
    expect(() => t.producer.taskGroup({ id: 'has space' })).toThrow(/Invalid `id`: expected a group id/);
    expect(() => t.producer.taskGroup({ deadlineMs: 0 })).toThrow(RangeError);
    expect(() => t.producer.taskGroup({ deadlineMs: 0 })).toThrow(
      'Invalid `deadlineMs`: expected an integer from 1 and up, got `0` (number)',
    );
    expect(() => t.producer.taskGroup({ policy: 'first-wins' as 'fail-fast' })).toThrow(/policy/);
    const tg = t.producer.taskGroup();
    expect(() => tg.createTask('echo', 1, { attempts: 0 })).toThrow(RangeError);
    expect(() => tg.createTask('echo', 1, { retries: 2 } as object)).toThrow(
      'Unknown option `retries` in task options',
    );
    await tg.wait();
  });

  test('a stopped group refuses new tasks', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('block');
    await tg.cancel('enough');
    expect(() => tg.createTask('echo', 1)).toThrow(GroupNotOpenError);
    await expect(tg.wait()).rejects.toMatchObject({ code: 'GROUP_CANCELLED' });
  });
});

describe('producer', () => {
  test('ready() resolves once its connection is up, named for CLIENT LIST', async () => {
    const queue = uniqueQueue('ready');
    const producer = new Producer({ connection: redisUrl(), queue });
    const admin = new Redis(redisUrl());
    try {
      await producer.ready();
      expect(await admin.client('LIST')).toContain(`name=taskfleet:${queue}:producer `);
    } finally {
      await producer.close();
      await admin.quit();
    }
  });
});
