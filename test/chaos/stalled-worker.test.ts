import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GroupFailedError } from '../../shared/index.ts';
import type { FleetEvent } from '../fleet/report.ts';
import { redisUrl } from '../helpers/queues.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const CHAOS_TASKS = new URL('../fleet/chaos-tasks.ts', import.meta.url).href;
const prefix = `chaos-stall-${randomUUID().slice(0, 6)}`;
const keys = `${prefix}:tell`;

/**
 * A worker that freezes (SIGSTOP: a long GC pause, a frozen VM) for longer than its job lock: BullMQ
 * gives the job to another worker. When the frozen one wakes up, its attempt is stale; whatever it does
 * then must not count, and above all must not end the group while the attempt that took over still
 * runs (a stopping group ends when no attempt of it runs any more).
 */
describe('a worker frozen past its job lock (SIGSTOP)', () => {
  const t = useFleet('chaos-stall', {
    workers: 2,
    tasksModule: CHAOS_TASKS,
    options: {
      prefix,
      concurrency: 2,
      globalLimits: { x: 1 }, // the module's `work` task needs it declared; this test does not use it
      lockDurationMs: 1000,
      stalledIntervalMs: 500,
      maxStalledCount: 5,
      // The attempt that took over is slow to stop: the group must wait for it, not give up on it.
      cancelGraceMs: 60_000,
    },
  });
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  const at =
    (kind: string, group: string, index: number, pid?: (pid: number) => boolean) =>
    (e: FleetEvent): boolean =>
      e.kind === kind && e.group === group && e.index === index && (pid === undefined || pid(e.pid));

  test('its late finish does not end a stopping group while the attempt that took over still runs', async () => {
    const tg = t.producer.taskGroup({ name: 'stall' });
    tg.createTask('stubborn', { keys });
    const frozen = (await t.fleet.waitFor(at('started', tg.id, 0))).pid;
    process.kill(frozen, 'SIGSTOP');
    let takeover: number;
    try {
      // Its lock runs out; the other worker's stalled check puts the job back, and that worker runs it.
      takeover = (await t.fleet.waitFor(at('started', tg.id, 0, (pid) => pid !== frozen))).pid;
      // Only the live worker can take this one. Its failure stops the group (fail-fast).
      tg.createTask('failWhenTold', { keys });
      await tg.close();
      await t.fleet.waitFor(at('waiting', tg.id, 1));
      await redis.lpush(`${keys}:fail:${tg.id}`, '1');
      await t.fleet.waitFor(at('aborted', tg.id, 0, (pid) => pid === takeover));
      expect((await tg.status()).state).toBe('failing');
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
    // Awake, the frozen worker hears of the cancellation; then its stale attempt ends.
    await t.fleet.waitFor(at('aborted', tg.id, 0, (pid) => pid === frozen));
    const earlier = new Set(t.fleet.events);
    await redis.lpush(`${keys}:release:${frozen}`, '1');
    // It told the group first (awaited), then BullMQ, which refuses: the job's lock is the other worker's.
    await t.fleet.waitFor(
      (e) =>
        !earlier.has(e) &&
        e.kind === 'log' &&
        e.pid === frozen &&
        /(Lock mismatch|Missing lock) for job/.test(String(e.error)),
    );
    const status = await tg.status();
    expect(status.state).toBe('failing');
    expect(status.counts.running).toBe(1);
    // The attempt that took over ends: now the group does.
    await redis.lpush(`${keys}:release:${takeover}`, '1');
    const error = await tg.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupFailedError);
    expect((await tg.status()).counts).toMatchObject({ failed: 1, cancelled: 1, running: 0 });
  }, 30_000);
});
