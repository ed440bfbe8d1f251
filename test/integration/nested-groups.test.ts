import { describe, expect, test } from 'vitest';
import { GroupCancelledError, GroupFailedError } from '../../shared/index.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

describe('nested groups on a fleet', () => {
  const t = useFleet('nested', { workers: 2, options: { concurrency: 3 } });

  test('a task opens a child group and gets its results', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('openChild', { name: 'echo', count: 4 });
    expect(await tg.wait()).toEqual([[{ value: 0 }, { value: 1 }, { value: 2 }, { value: 3 }]]);
    const opened = await t.fleet.waitFor(of(tg.id, 'child-opened'));
    const child = await t.producer.group(String(opened.child)).status();
    expect(child).toMatchObject({ state: 'succeeded', parent: `${tg.id}.0`, counts: { succeeded: 4 } });
  });

  test('cancelling the parent group cancels the child group and its running tasks', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('openChild', { name: 'block', count: 2 });
    const opened = await t.fleet.waitFor(of(tg.id, 'child-opened'));
    const childId = String(opened.child);
    await t.fleet.waitForCount(of(childId, 'started'), 2);

    await tg.cancel('parent cancelled');

    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
    const aborted = await t.fleet.waitForCount(of(childId, 'aborted'), 2);
    for (const event of aborted) expect(event).toMatchObject({ cancelKind: 'parent' });
    const child = t.producer.group(childId);
    await expect(child.wait()).rejects.toMatchObject({ code: 'GROUP_CANCELLED', reason: { kind: 'parent' } });
    expect((await child.status()).state).toBe('cancelled');
  });

  test("a child group's failure fails the task that opened it, and so the parent group", async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('openChild', { name: 'fail', count: 1, data: { message: 'deep failure' } });
    tg.createTask('block', { tag: 'sibling of the parent task' });
    const error = (await tg.wait().catch((e: unknown) => e)) as GroupFailedError;
    expect(error).toBeInstanceOf(GroupFailedError);
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]?.task.taskName).toBe('openChild');
    expect(error.errors[0]?.remote).toMatchObject({ name: 'GroupFailedError', code: 'GROUP_FAILED' });
    expect(error.errors[0]?.message).toContain('deep failure');
    expect(
      await t.fleet.waitFor((e) => of(tg.id, 'aborted')(e) && e.tag === 'sibling of the parent task'),
    ).toMatchObject({
      cancelKind: 'failure',
    });
  });
});

describe('a nested group under concurrency: 1', () => {
  const t = useFleet('nested-one', { workers: 1, options: { concurrency: 1 } });

  test('completes: the waiting parent gives its only slot to its children', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('openChild', { name: 'echo', count: 3 });
    expect(await tg.wait()).toEqual([[{ value: 0 }, { value: 1 }, { value: 2 }]]);
  });

  test('two levels deep', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('openChild', { name: 'openChild', count: 2, data: { name: 'echo', count: 2 } });
    expect(await tg.wait()).toEqual([
      [
        [{ value: 0 }, { value: 1 }],
        [{ value: 0 }, { value: 1 }],
      ],
    ]);
  });
});
