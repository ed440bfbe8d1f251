import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Producer } from '../../producer/index.ts';
import { GroupFailedError } from '../../shared/index.ts';
import { startTelemetry, type Telemetry } from '../../telemetry/index.ts';
import { Fleet } from '../fleet/fleet.ts';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';
import { eventOf } from '../helpers/use-fleet.ts';

/**
 * A group read as one story: a producer (this process) and two worker processes export OTLP/HTTP to a
 * receiver in this test, like they would to a collector, and the spans must form the group's tree.
 */
const queue = uniqueQueue('traces');
let receiver: OtlpReceiver;
let telemetry: Telemetry;
let fleet: Fleet;
let producer: Producer;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  Object.assign(process.env, receiver.env); // this test process is the producer: its SDK exports there too
  telemetry = await startTelemetry({ serviceName: 'taskfleet-producer' });
  fleet = await Fleet.start({
    redisUrl: redisUrl(),
    queue,
    workers: 2,
    options: { concurrency: 3 },
    env: receiver.env,
    telemetry: true,
  });
  producer = new Producer({ connection: redisUrl(), queue });
});

afterAll(async () => {
  await producer?.close();
  await fleet?.stop();
  await telemetry?.shutdown();
  await receiver?.close();
});

const ofGroup = (id: string) => (s: ReceivedSpan) => s.attributes['taskfleet.group.id'] === id;

/** Waits until the receiver has `count` spans matching, as the processes' exporters flush. */
async function spans(match: (s: ReceivedSpan) => boolean, count: number): Promise<ReceivedSpan[]> {
  await expect
    .poll(() => receiver.spans.filter(match).length, { timeout: 15_000, interval: 50 })
    .toBeGreaterThanOrEqual(count);
  return receiver.spans.filter(match);
}

describe('one trace per group', () => {
  test('the group span is the root; each task run descends from it; semaphore spans sit inside task spans', async () => {
    const tg = producer.taskGroup({ name: 'traced' });
    for (let i = 0; i < 3; i++)
      tg.createTask('withPermit', { semaphore: `trace-${queue}`, limit: 2, ms: 30 });
    for (let i = 0; i < 3; i++) tg.createTask('echo', i);
    await tg.wait();

    const [group] = await spans((s) => s.name === 'taskfleet.group' && ofGroup(tg.id)(s), 1);
    const tasks = await spans((s) => s.name.startsWith('process ') && ofGroup(tg.id)(s), 6);
    const sends = receiver.spans.filter((s) => s.name === `send ${queue}` && ofGroup(tg.id)(s));
    if (group === undefined) throw new Error('no group span');

    expect(group.parentSpanId).toBeUndefined();
    expect(group.attributes).toMatchObject({
      'taskfleet.group.name': 'traced',
      'taskfleet.group.policy': 'fail-fast',
      'taskfleet.group.task_count': 6,
      'messaging.system': 'bullmq',
    });
    expect(sends.length).toBeGreaterThanOrEqual(1);
    for (const send of sends)
      expect(send).toMatchObject({ traceId: group.traceId, parentSpanId: group.spanId });
    const sendIds = new Set(sends.map((s) => s.spanId));
    for (const task of tasks) {
      expect(task.traceId).toBe(group.traceId);
      expect(sendIds.has(task.parentSpanId ?? '')).toBe(true);
      expect(task.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.destination.name': queue,
        'taskfleet.task.outcome': 'succeeded',
      });
      expect(task.service).toBe('taskfleet-worker');
    }
    expect(new Set(tasks.map((t) => t.pid)).size).toBe(2); // two worker processes, one trace

    const acquires = await spans((s) => s.name === 'semaphore.acquire' && s.traceId === group.traceId, 3);
    const taskIds = new Set(
      tasks.filter((t) => t.attributes['taskfleet.task.name'] === 'withPermit').map((t) => t.spanId),
    );
    for (const acquire of acquires) {
      expect(taskIds.has(acquire.parentSpanId ?? '')).toBe(true);
      expect(acquire.attributes).toMatchObject({
        'taskfleet.semaphore.name': `trace-${queue}`,
        'taskfleet.semaphore.permits': 1,
        'taskfleet.semaphore.limit': 2,
      });
      expect(acquire.attributes['taskfleet.semaphore.queue_position']).toBeTypeOf('number');
      expect(acquire.attributes['taskfleet.semaphore.wait_ms']).toBeTypeOf('number');
    }
  });

  test('after a failure: the failing span records the exception, the group span a group.cancel event, and each cancelled sibling an event and a link to the failing span', async () => {
    const tg = producer.taskGroup();
    tg.createTask('block', { tag: 'a' });
    tg.createTask('block', { tag: 'b' });
    await fleet.waitForCount(eventOf(tg.id, 'started'), 2);
    const failing = tg.createTask('fail', { message: 'traced failure' });
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupFailedError);

    const [group] = await spans((s) => s.name === 'taskfleet.group' && ofGroup(tg.id)(s), 1);
    const tasks = await spans((s) => s.name.startsWith('process ') && ofGroup(tg.id)(s), 3);
    const failed = tasks.find((t) => t.attributes['taskfleet.task.index'] === failing.index);
    if (group === undefined || failed === undefined) throw new Error('spans missing');

    expect(failed.status.code).toBe(2); // ERROR
    expect(failed.events.find((e) => e.name === 'exception')?.attributes['exception.message']).toBe(
      'traced failure',
    );
    const cancel = group.events.find((e) => e.name === 'group.cancel');
    expect(cancel?.attributes).toMatchObject({
      'taskfleet.cancel.kind': 'failure',
      'taskfleet.cancel.by.index': failing.index,
    });
    expect(group.status.code).toBe(2);

    const siblings = tasks.filter((t) => t !== failed);
    expect(siblings).toHaveLength(2);
    for (const sibling of siblings) {
      expect(sibling.attributes['taskfleet.task.outcome']).toBe('cancelled');
      expect(sibling.status).toMatchObject({
        code: 2,
        message: expect.stringContaining('cancelled (failure)'),
      });
      expect(sibling.events.find((e) => e.name === 'task.cancelled')?.attributes).toMatchObject({
        'taskfleet.cancel.kind': 'failure',
        'taskfleet.cancel.by.index': failing.index,
      });
      expect(sibling.links).toContainEqual({ traceId: failed.traceId, spanId: failed.spanId });
    }
  });

  test('huge fan-out: past the threshold (or on request) task spans start their own trace with a link to the group span', async () => {
    const tg = producer.taskGroup({ taskSpans: 'links' });
    for (let i = 0; i < 4; i++) tg.createTask('echo', i);
    await tg.wait();
    const [group] = await spans((s) => s.name === 'taskfleet.group' && ofGroup(tg.id)(s), 1);
    const tasks = await spans((s) => s.name.startsWith('process ') && ofGroup(tg.id)(s), 4);
    if (group === undefined) throw new Error('no group span');
    for (const task of tasks) {
      expect(task.traceId).not.toBe(group.traceId);
      expect(task.parentSpanId).toBeUndefined();
      expect(task.links).toContainEqual({ traceId: group.traceId, spanId: group.spanId });
    }
    expect(new Set(tasks.map((t) => t.traceId)).size).toBe(4);
  });

  test('a child group opened by a task is a child of that task’s span', async () => {
    const tg = producer.taskGroup();
    tg.createTask('openChild', { name: 'echo', count: 2 });
    await tg.wait();
    const [parentTask] = await spans((s) => s.name === 'process openChild' && ofGroup(tg.id)(s), 1);
    const opened = await fleet.waitFor(eventOf(tg.id, 'child-opened'));
    const [child] = await spans((s) => s.name === 'taskfleet.group' && ofGroup(String(opened.child))(s), 1);
    if (parentTask === undefined || child === undefined) throw new Error('spans missing');
    expect(child).toMatchObject({ traceId: parentTask.traceId, parentSpanId: parentTask.spanId });
    const childTasks = await spans((s) => s.name === 'process echo' && ofGroup(String(opened.child))(s), 2);
    for (const task of childTasks) expect(task.traceId).toBe(parentTask.traceId);
  });
});
