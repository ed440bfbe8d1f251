import { randomInt, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TaskGroup } from '../../producer/index.ts';
import { DistributedSemaphore } from '../../shared/index.ts';
import { admissionKeys, bury, readAdmissions } from '../fleet/admission-counter.ts';
import { readGroupRuns, unexplainedRepeats } from '../helpers/group-runs.ts';
import { redisUrl } from '../helpers/queues.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

const CHAOS_TASKS = new URL('../fleet/chaos-tasks.ts', import.meta.url).href;
const ROUNDS = 20;
const TASKS = 200;
/** The fleet-wide limit `x` every task holds a permit of: fewer permits than slots, so tasks queue. */
const LIMIT = 6;
const LEASE_MS = 1000;
const prefix = `chaos-kill-${randomUUID().slice(0, 6)}`;
const keys = `${prefix}:check`;
const counter = admissionKeys(keys);
const ownerOf = (pid: number): string => `${hostname()}:${pid}`;

describe('SIGKILL a random worker mid-task, round after round', () => {
  const t = useFleet('chaos-kill', {
    workers: 3,
    tasksModule: CHAOS_TASKS,
    options: {
      prefix,
      concurrency: 3,
      globalLimits: { x: LIMIT },
      permitLeaseMs: LEASE_MS,
      // A dead worker's tasks go back to the queue within about 1.5 s instead of BullMQ's 30 s.
      lockDurationMs: 1000,
      stalledIntervalMs: 500,
      // A re-run task may land on the next victim: that is one more stall, not a lost task.
      maxStalledCount: ROUNDS,
    },
  });
  let redis: Redis;
  let semaphore: DistributedSemaphore;
  beforeAll(() => {
    redis = new Redis(redisUrl());
    semaphore = new DistributedSemaphore(redis, 'x', { prefix });
  });
  afterAll(async () => {
    await redis?.quit();
  });

  /** Once Redis time is past the dead worker's lease: the permits it held there now. */
  async function heldByDeadAfterLease(pid: number, killedAt: number): Promise<number> {
    const deadline = Date.now() + LEASE_MS + 15_000;
    while (Date.now() < deadline) {
      const status = await semaphore.status();
      if (status.now >= killedAt + LEASE_MS)
        return status.holders.filter((h) => h.owner === ownerOf(pid)).length;
      await sleep(25);
    }
    throw new Error(`Redis time did not pass ${killedAt + LEASE_MS}`);
  }

  test(`${ROUNDS} rounds of ${TASKS} tasks on 3 worker processes, one SIGKILLed mid-task each round: every group completes, every task counted once, the dead hold no permit after their lease, the limit is never exceeded`, async () => {
    const started = Date.now();
    const killed = new Set<number>();
    const groups: TaskGroup[] = [];
    const afterLease: Promise<number>[] = [];
    const joining: Promise<number>[] = [];
    let heldAtKill = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const tg = t.producer.taskGroup({ name: `round ${round}` });
      for (let i = 0; i < TASKS; i++)
        tg.createTask('work', { keys, limit: LIMIT, holdMs: 2 + ((i * 7) % 10) });
      await tg.close();
      groups.push(tg);
      // Mid-run: once a random share of the group has started, at the victim's next task start.
      await t.fleet.waitForCount(of(tg.id, 'inside'), randomInt(1, TASKS / 2));
      const candidates = [...new Set(t.fleet.events.filter(of(tg.id, 'inside')).map((e) => e.pid))].filter(
        (pid) => !killed.has(pid),
      );
      const victim = candidates[randomInt(candidates.length)] as number;
      const insideVictim = (e: { pid: number }) => e.pid === victim;
      const before = t.fleet.count((e) => of(tg.id, 'inside')(e) && insideVictim(e));
      await t.fleet.waitForCount((e) => of(tg.id, 'inside')(e) && insideVictim(e), before + 1);
      await t.fleet.kill(victim);
      killed.add(victim);
      const { at } = await bury(redis, counter, victim);
      heldAtKill += (await semaphore.status()).holders.filter((h) => h.owner === ownerOf(victim)).length;
      afterLease.push(heldByDeadAfterLease(victim, at));
      joining.push(t.fleet.add()); // back to three processes
    }
    const results = (await Promise.all(groups.map((tg) => tg.wait()))) as { index: number; pid: number }[][];
    await Promise.all(joining);
    const elapsedMs = Date.now() - started;

    // Every group reached its final state, every task counted exactly once.
    let reruns = 0;
    for (const [r, tg] of groups.entries()) {
      expect(results[r]?.map((v) => v.index)).toEqual(Array.from({ length: TASKS }, (_, i) => i));
      expect((await tg.status()).counts).toEqual({
        total: TASKS,
        succeeded: TASKS,
        failed: 0,
        cancelled: 0,
        running: 0,
        pending: 0,
      });
      const runs = await readGroupRuns(redis, keys, tg.id);
      expect(runs.completions.size).toBe(TASKS);
      for (const [i, value] of (results[r] ?? []).entries())
        expect(runs.completions.get(i)).toContain(value.pid);
      // At-least-once execution: a task runs again only because a worker running it was killed.
      expect(unexplainedRepeats(runs.starts, killed)).toEqual([]);
      expect(unexplainedRepeats(runs.completions, killed)).toEqual([]);
      for (const pids of runs.starts.values()) reruns += pids.length - 1;
    }
    expect(reruns).toBeGreaterThan(0); // the kills did interrupt tasks

    // No permit held by a dead worker once its lease has run out; the kills did catch holders.
    expect(await Promise.all(afterLease)).toEqual(Array.from({ length: ROUNDS }, () => 0));
    expect(heldAtKill).toBeGreaterThan(0);
    expect(await semaphore.status()).toMatchObject({ used: 0, holders: [], waiters: [] });

    // Never more handlers inside the limit than it allows, by the independent counter; and it was reached.
    const admissions = await readAdmissions(redis, counter);
    expect(admissions.over).toEqual([]);
    expect(admissions.peak).toBe(LIMIT);
    expect(admissions.insideNow).toBe(0);
    console.log(
      `worker kills: ${ROUNDS} rounds in ${elapsedMs} ms, ${reruns} task runs repeated after kills, ` +
        `${heldAtKill} permits held by victims at their death`,
    );
  }, 120_000);
});
