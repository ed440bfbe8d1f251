import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cancelReason } from '../../shared/cancel-reason.ts';
import { KeyTypeError } from '../../shared/errors.ts';
import { type CreateGroupArgs, GroupScripts } from '../../shared/group-protocol/group-scripts.ts';
import { QueueKeys } from '../../shared/keys.ts';
import { Maintenance } from '../../worker/maintenance.ts';
import { Reconciler } from '../../worker/reconciler.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

/**
 * The group scripts on their own, against Redis: the accounting rules every worker relies on.
 * (Fleet behaviour is tested with worker processes in the other files.)
 */
let redis: Redis;
let scripts: GroupScripts;
let n = 0;

const failReason = (index: number) =>
  cancelReason('failure', `task ${index} failed`, {
    groupId: 'g',
    index,
    taskId: `t${index}`,
    taskName: 'x',
  });

function args(overrides: Partial<CreateGroupArgs> = {}): CreateGroupArgs {
  return {
    name: '',
    policy: 'fail-fast',
    deadlineMs: 0,
    leaseMs: 60_000,
    retentionMs: 60_000,
    parent: '',
    epoch: 'e1',
    maxConcurrency: 0,
    ...overrides,
  };
}

async function group(tasks: number, overrides: Partial<CreateGroupArgs> = {}): Promise<string> {
  const id = `g${++n}`;
  expect(await scripts.create(id, args(overrides))).toBeTypeOf('number');
  if (tasks > 0) expect(await scripts.addTasks(id, tasks)).toBe(0);
  return id;
}

beforeAll(() => {
  redis = new Redis(redisUrl());
  scripts = new GroupScripts(redis, new QueueKeys('taskfleet', uniqueQueue('protocol')));
});

afterAll(async () => {
  await redis.quit();
});

describe('accounting is exactly once', () => {
  test('a second outcome for the same task is ignored', async () => {
    const id = await group(2);
    await scripts.close(id);
    expect(await scripts.startTask(id, 'e1', 0, 'w1')).toBe('run');
    expect((await scripts.finishTask(id, 'e1', 0, 'ok', 'v1', undefined)).recorded).toBe(1);
    expect((await scripts.finishTask(id, 'e1', 0, 'ok', 'v2', undefined)).recorded).toBe(0);
    const status = await scripts.status(id);
    expect(status?.counts).toMatchObject({ total: 2, succeeded: 1, running: 0, pending: 1 });
    expect(await scripts.outcomes(id, 0, 1)).toEqual(['v1']);
  });

  test('a settled task is never started again (a retry or a stalled copy skips it)', async () => {
    const id = await group(1);
    expect(await scripts.startTask(id, 'e1', 0, 'w1')).toBe('run');
    await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined);
    expect(await scripts.startTask(id, 'e1', 0, 'w2')).toBe('settled');
  });

  test('a worker that died mid-task is replaced by the next start, and the task counts once', async () => {
    const id = await group(1);
    await scripts.close(id);
    expect(await scripts.startTask(id, 'e1', 0, 'dead-worker')).toBe('run');
    expect(await scripts.startTask(id, 'e1', 0, 'new-worker')).toBe('run');
    expect(await scripts.running(id)).toEqual({ 0: 'new-worker' });
    const result = await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined);
    expect(result).toEqual({ recorded: 1, state: 'succeeded', finished: true });
  });

  test('a late finish of an attempt whose job was taken over changes nothing; the running attempt counts', async () => {
    const id = await group(1);
    await scripts.close(id);
    expect(await scripts.startTask(id, 'e1', 0, 'stalled')).toBe('run');
    // BullMQ gave the job to another worker; then the first one woke up and finished.
    expect(await scripts.startTask(id, 'e1', 0, 'taken-over')).toBe('run');
    for (const kind of ['ok', 'release'] as const) {
      const late = await scripts.finishTasks(id, 'e1', [
        { index: 0, kind, payload: 'v-late', failReason: undefined, token: 'stalled' },
      ]);
      expect(late).toEqual([{ recorded: 0, state: 'closed', finished: false }]);
    }
    expect(await scripts.running(id)).toEqual({ 0: 'taken-over' });
    const done = await scripts.finishTasks(id, 'e1', [
      { index: 0, kind: 'ok', payload: 'v', failReason: undefined, token: 'taken-over' },
    ]);
    expect(done).toEqual([{ recorded: 1, state: 'succeeded', finished: true }]);
    expect(await scripts.outcomes(id, 0, 1)).toEqual(['v']);
  });

  test('a stopping group does not end on a late finish while the attempt that took over still runs', async () => {
    const id = await group(2);
    await scripts.close(id);
    await scripts.startTasks(id, 'e1', [
      { index: 0, token: 'stalled' },
      { index: 1, token: 'w' },
    ]);
    await scripts.startTask(id, 'e1', 0, 'taken-over');
    const failed = await scripts.finishTasks(id, 'e1', [
      { index: 1, kind: 'err', payload: 'e{"message":"boom"}', failReason: failReason(1), token: 'w' },
    ]);
    expect(failed[0]?.state).toBe('failing');
    const late = await scripts.finishTasks(id, 'e1', [
      { index: 0, kind: 'cxl', payload: 'c{}', failReason: undefined, token: 'stalled' },
    ]);
    expect(late).toEqual([{ recorded: 0, state: 'failing', finished: false }]);
    expect((await scripts.status(id))?.counts).toMatchObject({ running: 1 });
    const last = await scripts.finishTasks(id, 'e1', [
      { index: 0, kind: 'cxl', payload: 'c{}', failReason: undefined, token: 'taken-over' },
    ]);
    expect(last).toEqual([{ recorded: 1, state: 'failed', finished: true }]);
  });

  test('a failed attempt that will be retried leaves the task unsettled', async () => {
    const id = await group(1);
    await scripts.close(id);
    await scripts.startTask(id, 'e1', 0, 'w');
    expect((await scripts.finishTask(id, 'e1', 0, 'release', '', undefined)).state).toBe('closed');
    expect((await scripts.status(id))?.counts).toMatchObject({ failed: 0, running: 0, pending: 1 });
    await scripts.startTask(id, 'e1', 0, 'w');
    expect((await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined)).state).toBe('succeeded');
  });
});

describe('batches (what one worker starts or finishes at the same moment)', () => {
  test('a batch of starts decides each task on its own', async () => {
    const id = await group(3);
    await scripts.startTask(id, 'e1', 0, 'w');
    await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined);
    expect(
      await scripts.startTasks(id, 'e1', [
        { index: 0, token: 'w' },
        { index: 1, token: 'w' },
        { index: 2, token: 'w' },
      ]),
    ).toEqual(['settled', 'run', 'run']);
    expect(await scripts.running(id)).toEqual({ 1: 'w', 2: 'w' });
  });

  test('a task finished twice in one batch counts once: the first outcome wins', async () => {
    const id = await group(3);
    await scripts.startTasks(
      id,
      'e1',
      [0, 1, 2].map((index) => ({ index, token: 'w' })),
    );
    const results = await scripts.finishTasks(id, 'e1', [
      { index: 0, kind: 'ok', payload: 'v0', failReason: undefined },
      { index: 1, kind: 'release', payload: '', failReason: undefined },
      { index: 0, kind: 'ok', payload: 'v0 again', failReason: undefined },
      { index: 1, kind: 'ok', payload: 'v1', failReason: undefined },
      { index: 1, kind: 'ok', payload: 'v1 again', failReason: undefined },
    ]);
    expect(results.map((r) => r.recorded)).toEqual([1, 1, 0, 1, 0]);
    expect(await scripts.outcomes(id, 0, 3)).toEqual(['v0', 'v1', null]);
    expect((await scripts.status(id))?.counts).toMatchObject({ succeeded: 2, running: 1, pending: 0 });
    expect(await scripts.running(id)).toEqual({ 2: 'w' });
  });

  test('a failure in the middle of a batch stops the group for the attempts after it, in order', async () => {
    const id = await group(5);
    await scripts.close(id);
    await scripts.startTasks(
      id,
      'e1',
      [0, 1, 2, 3].map((index) => ({ index, token: 'w' })),
    );
    const results = await scripts.finishTasks(id, 'e1', [
      { index: 0, kind: 'ok', payload: 'v0', failReason: undefined },
      { index: 1, kind: 'err', payload: 'e{"message":"boom"}', failReason: failReason(1) },
      { index: 2, kind: 'ok', payload: 'v2', failReason: undefined },
      { index: 2, kind: 'ok', payload: 'v2 again', failReason: undefined },
    ]);
    expect(results.map((r) => r.recorded)).toEqual([1, 1, 1, 0]);
    expect(results.every((r) => r.state === 'failing')).toBe(true);
    // 0 succeeded; 1 failed; 2 finished after the stop: cancelled; 3 still runs; 4 never started: cancelled.
    expect((await scripts.status(id))?.counts).toMatchObject({
      succeeded: 1,
      failed: 1,
      cancelled: 2,
      running: 1,
    });
    expect(await scripts.outcomes(id, 0, 3)).toEqual(['v0', 'e{"message":"boom"}', null]);
    const last = await scripts.finishTasks(id, 'e1', [
      { index: 3, kind: 'ok', payload: 'v3', failReason: undefined },
    ]);
    expect(last).toEqual([{ recorded: 1, state: 'failed', finished: true }]);
  });
});

describe('group life', () => {
  test('a group ends only when it is closed and every task has settled', async () => {
    const id = await group(1);
    await scripts.startTask(id, 'e1', 0, 'w');
    expect((await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined)).state).toBe('open');
    expect(await scripts.close(id)).toEqual({ state: 'succeeded', finished: true });
  });

  test('tasks may be added while the group is closed but not finished (by its running tasks)', async () => {
    const id = await group(1);
    await scripts.close(id);
    await scripts.startTask(id, 'e1', 0, 'w');
    expect(await scripts.addTasks(id, 1)).toBe(1);
    await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined);
    expect((await scripts.status(id))?.state).toBe('closed');
    await scripts.startTask(id, 'e1', 1, 'w');
    expect((await scripts.finishTask(id, 'e1', 1, 'ok', 'v', undefined)).state).toBe('succeeded');
  });

  test('a duplicate id is refused and the existing group is untouched', async () => {
    const id = await group(3);
    expect(await scripts.create(id, args({ policy: 'all-settled', epoch: 'e2' }))).toBe('duplicate');
    expect((await scripts.status(id))?.policy).toBe('fail-fast');
    expect((await scripts.status(id))?.counts.total).toBe(3);
  });

  test('the same create again (resent after a lost reply: same epoch) finds its own group', async () => {
    const id = `g${++n}`;
    const createdAt = await scripts.create(id, args());
    expect(createdAt).toBeTypeOf('number');
    expect(await scripts.addTasks(id, 2)).toBe(0);
    expect(await scripts.create(id, args())).toBe(createdAt);
    expect((await scripts.status(id))?.counts.total).toBe(2);
  });

  test('a job of an earlier group with the same id (another epoch) neither starts nor counts', async () => {
    const id = await group(1, { epoch: 'e2' });
    await scripts.close(id);
    expect(await scripts.startTask(id, 'e1', 0, 'old-job')).toBe('missing');
    expect(await scripts.running(id)).toEqual({});
    const late = await scripts.finishTask(id, 'e1', 0, 'err', 'e{}', failReason(0));
    expect(late).toMatchObject({ recorded: -1, state: undefined });
    expect((await scripts.status(id))?.counts).toMatchObject({ total: 1, pending: 1, failed: 0 });
    expect(await scripts.startTask(id, 'e2', 0, 'w')).toBe('run');
    expect((await scripts.finishTask(id, 'e2', 0, 'ok', 'v', undefined)).state).toBe('succeeded');
  });
});

describe('fail-fast', () => {
  test('the first final failure stops the group; queued tasks are counted cancelled at once, running ones as they end', async () => {
    const id = await group(5);
    await scripts.close(id);
    await scripts.startTask(id, 'e1', 0, 'w');
    await scripts.startTask(id, 'e1', 1, 'w');
    const failed = await scripts.finishTask(
      id,
      'e1',
      0,
      'err',
      'e{"name":"Error","message":"boom"}',
      failReason(0),
    );
    expect(failed.state).toBe('failing');
    // 3 never started (2, 3, 4): cancelled now. Task 1 still runs.
    expect((await scripts.status(id))?.counts).toMatchObject({ failed: 1, cancelled: 3, running: 1 });
    // A queued task is refused; a running one's result is discarded and counted cancelled.
    expect(await scripts.startTask(id, 'e1', 2, 'w')).toBe('stopped');
    expect((await scripts.finishTask(id, 'e1', 1, 'ok', 'v', undefined)).state).toBe('failed');
    const status = await scripts.status(id);
    expect(status?.counts).toMatchObject({
      total: 5,
      succeeded: 0,
      failed: 1,
      cancelled: 4,
      running: 0,
      pending: 0,
    });
    expect(status?.reason).toMatchObject({ kind: 'failure', by: { index: 0 } });
    expect(await scripts.failures(id)).toEqual([0]);
    expect(await scripts.addTasks(id, 1)).toBe('not-accepting');
  });

  test('in one finish-and-start call the finishes come first: a failure stops the starts beside it', async () => {
    const id = await group(4);
    await scripts.close(id);
    await scripts.startTasks(id, 'e1', [
      { index: 0, token: 'w' },
      { index: 1, token: 'w' },
    ]);
    const { finished, started } = await scripts.finishAndStart(
      id,
      'e1',
      [
        { index: 0, kind: 'ok', payload: 'v0', failReason: undefined },
        { index: 1, kind: 'err', payload: 'e{"message":"boom"}', failReason: failReason(1) },
      ],
      [
        { index: 2, token: 'w' },
        { index: 3, token: 'w' },
      ],
    );
    expect(finished.map((f) => f.recorded)).toEqual([1, 1]);
    // Nothing runs any more: the failure finished the group in the same call.
    expect(finished.map((f) => f.state)).toEqual(['failed', 'failed']);
    expect(finished.map((f) => f.finished)).toEqual([false, true]);
    expect(started).toEqual(['stopped', 'stopped']);
    expect((await scripts.status(id))?.counts).toMatchObject({ succeeded: 1, failed: 1, cancelled: 2 });
  });

  test('one call with finishes and starts of a healthy group records both', async () => {
    const id = await group(3);
    await scripts.startTask(id, 'e1', 0, 'w');
    const { finished, started } = await scripts.finishAndStart(
      id,
      'e1',
      [{ index: 0, kind: 'ok', payload: 'v0', failReason: undefined }],
      [
        { index: 1, token: 'w' },
        { index: 0, token: 'w' },
      ],
    );
    expect(finished).toEqual([{ recorded: 1, state: 'open', finished: false }]);
    expect(started).toEqual(['run', 'settled']);
    expect((await scripts.status(id))?.counts).toMatchObject({ succeeded: 1, running: 1, pending: 1 });
  });

  test('a real failure that races the cancellation is reported, not hidden', async () => {
    const id = await group(2);
    await scripts.close(id);
    await scripts.startTask(id, 'e1', 0, 'w');
    await scripts.startTask(id, 'e1', 1, 'w');
    await scripts.finishTask(id, 'e1', 0, 'err', 'e{"message":"first"}', failReason(0));
    expect((await scripts.finishTask(id, 'e1', 1, 'err', 'e{"message":"second"}', failReason(1))).state).toBe(
      'failed',
    );
    expect(await scripts.failures(id)).toEqual([0, 1]);
  });

  test('a failing group waits for its producer to close it', async () => {
    const id = await group(1);
    await scripts.startTask(id, 'e1', 0, 'w');
    expect((await scripts.finishTask(id, 'e1', 0, 'err', 'e{}', failReason(0))).state).toBe('failing');
    expect(await scripts.close(id)).toEqual({ state: 'failed', finished: true });
  });

  test('all-settled: a failure cancels nothing', async () => {
    const id = await group(2, { policy: 'all-settled' });
    await scripts.close(id);
    await scripts.startTask(id, 'e1', 0, 'w');
    expect((await scripts.finishTask(id, 'e1', 0, 'err', 'e{}', failReason(0))).state).toBe('closed');
    expect(await scripts.startTask(id, 'e1', 1, 'w')).toBe('run');
    expect((await scripts.finishTask(id, 'e1', 1, 'ok', 'v', undefined)).state).toBe('failed');
    expect((await scripts.status(id))?.counts).toMatchObject({ succeeded: 1, failed: 1, cancelled: 0 });
  });
});

describe('cancellation', () => {
  test('cancel: durable state, and a broadcast with the reason', async () => {
    const id = await group(2);
    const subscriber = new Redis(redisUrl());
    await subscriber.subscribe(scripts.keys.cancelChannel);
    const message = new Promise<string>((resolve) =>
      subscriber.once('message', (_c: string, m: string) => resolve(m)),
    );
    expect(await scripts.cancel(id, cancelReason('user', 'stop it'))).toEqual({
      state: 'cancelling',
      finished: false,
    });
    expect(JSON.parse(await message)).toEqual({
      g: id,
      r: { kind: 'user', message: 'stop it' },
      at: expect.any(Number),
    });
    await subscriber.quit();
    expect(await scripts.startTask(id, 'e1', 0, 'w')).toBe('stopped');
    expect(await scripts.close(id)).toEqual({ state: 'cancelled', finished: true });
    expect((await scripts.status(id))?.counts.cancelled).toBe(2);
  });

  test('cancelling one queued task settles it; the group goes on', async () => {
    const id = await group(2);
    await scripts.close(id);
    expect(await scripts.cancelTask(id, 0, cancelReason('task', 'not needed'))).toBe('cancelled');
    expect(await scripts.startTask(id, 'e1', 0, 'w')).toBe('settled');
    await scripts.startTask(id, 'e1', 1, 'w');
    expect((await scripts.finishTask(id, 'e1', 1, 'ok', 'v', undefined)).state).toBe('succeeded');
  });

  test('cancelling one running task asks its worker; whatever it returns counts as cancelled', async () => {
    const id = await group(1);
    await scripts.close(id);
    await scripts.startTask(id, 'e1', 0, 'w');
    expect(await scripts.cancelTask(id, 0, cancelReason('task', 'stop'))).toBe('aborting');
    expect((await scripts.finishTask(id, 'e1', 0, 'ok', 'v', undefined)).state).toBe('succeeded');
    expect((await scripts.outcomes(id, 0, 1))[0]).toBe('c{"kind":"task","message":"stop"}');
    expect((await scripts.status(id))?.counts).toMatchObject({ succeeded: 0, cancelled: 1 });
  });

  test('a cancel request survives its worker dying: the restarted task is settled, not run', async () => {
    const id = await group(1);
    await scripts.startTask(id, 'e1', 0, 'dead-worker');
    await scripts.cancelTask(id, 0, cancelReason('task', 'stop'));
    expect(await scripts.startTask(id, 'e1', 0, 'new-worker')).toBe('settled');
    expect((await scripts.status(id))?.counts).toMatchObject({ cancelled: 1, running: 0 });
  });

  test('an unknown task index is reported', async () => {
    const id = await group(1);
    expect(await scripts.cancelTask(id, 5, cancelReason('task', 'x'))).toBe('no-such-task');
  });
});

describe('maintenance', () => {
  test('the deadline cancels a group at the next start, by Redis time', async () => {
    const id = await group(2, { deadlineMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the deadline passes
    expect(await scripts.startTask(id, 'e1', 0, 'w')).toBe('stopped');
    expect((await scripts.status(id))?.reason).toEqual({
      kind: 'deadline',
      message: 'the group deadline passed',
    });
  });

  test('a producer that stops renewing its lease loses its open group', async () => {
    const id = await group(1, { leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the lease runs out
    const [check] = await scripts.check([id], 60_000);
    expect(check?.state).toBe('cancelled');
    const status = await scripts.status(id);
    expect(status?.closed).toBe(true);
    expect(status?.reason?.kind).toBe('producer-lost');
  });

  test('a renewed lease keeps an open group alive; a closed group needs no lease', async () => {
    const id = await group(1, { leaseMs: 60_000 });
    const [check] = await scripts.check([id], 60_000);
    expect(check?.state).toBe('open');
    await scripts.renewLeases([{ id, epoch: '' }], 60_000);
    await scripts.close(id);
    const [after] = await scripts.check([id], 60_000);
    expect(after?.state).toBe('closed');
  });

  test('a lease renewal for another incarnation of the id changes nothing', async () => {
    const id = await group(1, { leaseMs: 60_000, epoch: 'e1' });
    const meta = scripts.keys.group(id).meta;
    const leaseUntil = async () => Number(await redis.hget(meta, 'leaseUntil'));
    const created = await leaseUntil();
    // A longer lease than the one created, so a renewal shows whatever the clock did in between.
    await scripts.renewLeases([{ id, epoch: 'e0' }], 600_000);
    expect(await leaseUntil()).toBe(created);
    await scripts.renewLeases([{ id, epoch: 'e1' }], 600_000);
    expect(await leaseUntil()).toBeGreaterThanOrEqual(created + 540_000);
  });

  test('a check that fails keeps the group live, to be looked at again later (not dropped for good)', async () => {
    const id = await group(1, { leaseMs: 60_000 });
    const { keys } = scripts;
    await redis.set(keys.group(id).meta, 'not a hash'); // check-group now fails on this group
    const warnings: [string, unknown][] = [];
    const logger = { warn: (m: string, d?: unknown) => warnings.push([m, d]), error: () => undefined };
    const store = { redis, keys, scripts };
    const maintenance = new Maintenance(store, new Reconciler(store, 60_000), 1000, 60_000, 'test', logger);
    await maintenance.tick();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.[0]).toContain(`group ${id}: maintenance could not check it`);
    expect(warnings[0]?.[1]).toBeInstanceOf(KeyTypeError);
    // Before: dropped from the live set, so its deadline and lease were never enforced again.
    const [seconds] = await redis.time();
    expect(Number(await redis.zscore(keys.live, id))).toBeGreaterThan(Number(seconds) * 1000 + 50_000);
  });

  test('a finished group expires after its retention', async () => {
    const id = await group(0, { retentionMs: 50_000 });
    await scripts.close(id);
    const ttl = await redis.pttl(scripts.keys.group(id).meta);
    expect(ttl).toBeGreaterThan(40_000);
    expect(ttl).toBeLessThanOrEqual(50_000);
  });
});
