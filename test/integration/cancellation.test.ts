import { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { GroupCancelledError, GroupFailedError, TaskCancelledError } from '../../shared/index.ts';
import { runScript } from '../helpers/processes.ts';
import { redisUrl } from '../helpers/queues.ts';
import { eventOf, useFleet } from '../helpers/use-fleet.ts';

// 2 processes x 2 slots: four tasks run at once, the rest queue.
const t = useFleet('cancel', { workers: 2, options: { concurrency: 2 } });
const of = eventOf;

describe('fail-fast', () => {
  test('one failure cancels running siblings on other processes and queued ones never start; the error lists only the failure', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 3; i++) tg.createTask('block', { tag: `runner-${i}` });
    const running = await t.fleet.waitForCount(of(tg.id, 'started'), 3);
    expect(new Set(running.map((e) => e.pid)).size).toBe(2); // 3 tasks on 2 slots per process: both processes
    // The failing task takes the last free slot; the ones after it queue behind it.
    const failing = tg.createTask('fail', { message: 'the real failure' });
    for (let i = 0; i < 5; i++) tg.createTask('echo', { queued: i });

    const error = await tg.wait().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GroupFailedError);
    const failed = error as GroupFailedError;
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatchObject({
      message: 'the real failure',
      task: { index: failing.index, taskName: 'fail' },
    });
    expect(failed.cancelled).toBe(8);
    expect(failed.code).toBe('GROUP_FAILED');
    expect(failed).toBeInstanceOf(AggregateError);

    const aborted = t.fleet.events.filter(of(tg.id, 'aborted'));
    expect(aborted).toHaveLength(3);
    for (const event of aborted) {
      expect(event).toMatchObject({
        reasonName: 'TaskCancelledError',
        code: 'TASK_CANCELLED',
        cancelKind: 'failure',
      });
      expect(event.by).toMatchObject({ groupId: tg.id, index: failing.index, taskName: 'fail' });
    }
    expect(new Set(aborted.map((e) => e.pid)).size).toBe(2);
    expect(t.fleet.count(of(tg.id, 'entered'))).toBe(0);
    expect((await tg.status()).counts).toMatchObject({
      total: 9,
      succeeded: 0,
      failed: 1,
      cancelled: 8,
      running: 0,
    });
  });
});

describe('cancelling', () => {
  test('one task is cancelled while the group goes on', async () => {
    const tg = t.producer.taskGroup();
    const blocker = tg.createTask('block', { tag: 'single' });
    tg.createTask('echo', 'kept');
    const never = tg.createTask('echo', 'never', { delayMs: 60_000 });
    await t.fleet.waitFor((e) => of(tg.id, 'started')(e) && e.index === blocker.index);
    expect(await blocker.cancel('not needed')).toBe('aborting');
    expect(await never.cancel('not needed either')).toBe('cancelled');

    expect(await tg.wait()).toEqual([undefined, 'kept', undefined]);
    const aborted = await t.fleet.waitFor(of(tg.id, 'aborted'));
    expect(aborted).toMatchObject({ cancelKind: 'task', reason: 'not needed' });
    const outcomes = await t.producer.group(tg.id).settled();
    expect(outcomes.map((o) => o.status)).toEqual(['cancelled', 'fulfilled', 'cancelled']);
    const first = outcomes[0];
    if (first?.status !== 'cancelled') throw new Error('expected a cancellation');
    expect(first.reason).toBeInstanceOf(TaskCancelledError);
    expect(first.reason.reason).toBe('not needed');
    expect((await tg.status()).state).toBe('succeeded');
    expect(t.fleet.count((e) => e.kind === 'entered' && e.group === tg.id && e.index === never.index)).toBe(
      0,
    );
  });

  test('a group cancelled from a third process stops on every worker, with the reason', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 4; i++) tg.createTask('block');
    tg.createTask('echo', 'queued');
    const running = await t.fleet.waitForCount(of(tg.id, 'started'), 4);
    expect(new Set(running.map((e) => e.pid)).size).toBe(2);

    expect(await runScript('cancel-group.ts', [redisUrl(), t.queue, tg.id, 'operator says stop'])).toBe(
      'cancelling',
    );

    const error = await tg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupCancelledError);
    expect((error as GroupCancelledError).reason).toEqual({ kind: 'user', message: 'operator says stop' });
    const aborted = await t.fleet.waitForCount(of(tg.id, 'aborted'), 4);
    for (const event of aborted)
      expect(event).toMatchObject({ cancelKind: 'user', reason: 'operator says stop' });
    expect(t.fleet.count(of(tg.id, 'entered'))).toBe(0);
    expect((await tg.status()).counts).toMatchObject({ total: 5, cancelled: 5 });
  });

  test("an error in the producer's block cancels the group and is what the block throws", async () => {
    let id = '';
    const outcome = t.producer.taskGroup({}, async (tg) => {
      id = tg.id;
      tg.createTask('block');
      await t.fleet.waitFor(of(tg.id, 'started'));
      throw new Error('the producer changed its mind');
    });
    await expect(outcome).rejects.toThrow('the producer changed its mind');
    expect(await t.fleet.waitFor(of(id, 'aborted'))).toMatchObject({ cancelKind: 'producer-error' });
    const status = await t.producer.group(id).status();
    expect(status.state).toBe('cancelled');
    expect(status.reason?.message).toMatch(/the producer changed its mind/);
  });

  test('cancelled tasks are not retried', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('block', { tag: 'no-retry' }, { attempts: 5 });
    await t.fleet.waitFor(of(tg.id, 'started'));
    await tg.cancel();
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
    await t.fleet.waitFor(of(tg.id, 'aborted'));
    // A retry would have started by now had it been scheduled (no backoff): check the job itself.
    const redis = new Redis(redisUrl());
    const jobKey = `taskfleet:${t.queue}:${tg.id}.${tg.epoch}.0`;
    await expect.poll(() => redis.hget(jobKey, 'finishedOn')).not.toBeNull();
    expect(await redis.hget(jobKey, 'atm')).toBe('1');
    await redis.quit();
    expect(t.fleet.count(of(tg.id, 'started'))).toBe(1);
  });
});
