import { describe, expect, test } from 'vitest';
import { GroupCancelledError } from '../../shared/index.ts';
import { FleetWorker } from '../../worker/index.ts';
import { redisUrl } from '../helpers/queues.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

describe('ctx.toThread', () => {
  const t = useFleet('threads', { workers: 1, options: { concurrency: 2, maxThreads: 1 } });

  test("keeps the worker's event loop responsive while CPU work runs (and the same work inline does not)", async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('lagWithThread', { ms: 800 });
    const [threaded] = (await tg.wait()) as { iterations: number; maxLagMs: number }[];
    const inline = t.producer.taskGroup();
    inline.createTask('lagInline', { ms: 800 });
    const [blocked] = (await inline.wait()) as { iterations: number; maxLagMs: number }[];

    expect(threaded?.iterations).toBeGreaterThan(0);
    // The measurement sees blocking when there is some: 800 ms of inline work shows up as lag ...
    expect(blocked?.maxLagMs).toBeGreaterThan(500);
    // ... and the thread keeps the loop free: lag stays a small fraction of the work's duration.
    expect(threaded?.maxLagMs).toBeLessThan(200);
  });

  test('is aborted with the task: cancelling stops the thread', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('threaded', { ms: 60_000 });
    await t.fleet.waitFor(of(tg.id, 'started'));
    await tg.cancel('no need');
    // A 60 s spin could not be waited for inside the test timeout: the group ends because the thread stopped.
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
    expect(t.fleet.count(of(tg.id, 'finished'))).toBe(0);
    // The pool still works afterwards.
    const next = t.producer.taskGroup();
    next.createTask('threaded', { ms: 10 });
    expect((await next.wait())[0]).toBeGreaterThan(0);
  });
});

describe('local limits', () => {
  const t = useFleet('local', {
    workers: 1,
    tasksModule: new URL('../fleet/limited-tasks.ts', import.meta.url).href,
    options: { concurrency: 4, localLimits: { cpu: 1 } },
  });

  test('a named local limit bounds the tasks that ask for it; concurrency bounds them all', async () => {
    const tg = t.producer.taskGroup();
    for (let i = 0; i < 6; i++) tg.createTask('exclusive');
    for (let i = 0; i < 12; i++) tg.createTask('free');
    await tg.wait();
    const running = t.fleet.events.filter(of(tg.id, 'running'));
    expect(running).toHaveLength(18);
    expect(Math.max(...running.map((e) => Number(e.exclusive)))).toBe(1);
    expect(Math.max(...running.map((e) => Number(e.any)))).toBeLessThanOrEqual(4);
    // The limit is not the whole worker: free tasks ran beside an exclusive one.
    expect(running.some((e) => e.exclusive === 1 && Number(e.any) > 1)).toBe(true);
  });

  test('a task asking for a local limit the worker does not have is refused at registration', () => {
    const worker = new FleetWorker({ connection: redisUrl(), queue: t.queue, localLimits: { cpu: 2 } });
    expect(() => worker.task('x', () => 1, { local: { gpu: 1 } })).toThrow(/local limit `gpu`/);
    expect(() => worker.task('x', () => 1, { local: { cpu: 3 } })).toThrow(RangeError);
    expect(() => new FleetWorker({ connection: redisUrl(), queue: t.queue, concurrency: 0 })).toThrow(
      'Invalid `concurrency`: expected an integer from 1 and up, got `0` (number)',
    );
  });
});
