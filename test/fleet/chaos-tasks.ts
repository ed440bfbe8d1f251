import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { TaskContext, TaskModuleEntry } from '../../worker/index.ts';
import { admissionKeys, enter, leave } from './admission-counter.ts';
import { report } from './report.ts';

/**
 * Tasks for the fault tests (test/chaos). Their bookkeeping goes straight to Redis over a connection of
 * their own: TASKFLEET_CHAOS_REDIS when the worker itself reaches Redis through a proxy the test cuts,
 * and with no retry limit, so it waits out a Redis restart like the worker does.
 */
let redis: Redis | undefined;
const direct = (): Redis => {
  if (redis === undefined) {
    redis = new Redis(process.env.TASKFLEET_CHAOS_REDIS ?? process.env.TASKFLEET_TEST_REDIS ?? '', {
      maxRetriesPerRequest: null,
    });
    redis.on('error', () => undefined); // reconnects by itself (a Redis restart); commands wait for it
  }
  return redis;
};

export interface WorkData {
  /** Prefix of this test's bookkeeping keys (see chaosKeys). */
  readonly keys: string;
  /** The fleet-wide limit `x` the task holds a permit of. */
  readonly limit: number;
  readonly holdMs: number;
  /** Hold the first attempt until the signal aborts (a permit lost, a cancel). */
  readonly blockFirstAttempt?: boolean;
}

/** Where a test finds what its tasks recorded: sets of `<index> <pid> <run>` per group. */
export const chaosKeys = (prefix: string, groupId: string) => ({
  starts: `${prefix}:starts:${groupId}`,
  completions: `${prefix}:done:${groupId}`,
});

let runs = 0;

/** What a handler reports when its signal aborts. */
function onAbort(ctx: TaskContext): void {
  ctx.signal.addEventListener(
    'abort',
    () => {
      const reason = ctx.signal.reason as { name?: string; code?: string } | undefined;
      report('aborted', {
        group: ctx.groupId,
        index: ctx.index,
        reasonName: reason?.name,
        code: reason?.code,
      });
    },
    { once: true },
  );
}

/**
 * Waits (BLPOP, no polling) until the test pushes to `key`. On a connection of its own, closed after:
 * two handlers of one process waiting at once must not queue behind each other on one connection.
 */
async function untilTold(key: string): Promise<void> {
  const waiting = direct().duplicate();
  waiting.on('error', () => undefined);
  try {
    await waiting.blpop(key, 0);
  } finally {
    waiting.disconnect();
  }
}

const tasks: Record<string, TaskModuleEntry> = {
  /**
   * Runs until the test pushes to `<keys>:release:<pid>` (its own process), whatever its signal says:
   * a handler slow to stop, so the test controls when each attempt of it ends.
   */
  stubborn: async (data: { keys: string }, ctx: TaskContext) => {
    onAbort(ctx);
    report('started', { group: ctx.groupId, index: ctx.index, attempt: ctx.attempt });
    await untilTold(`${data.keys}:release:${process.pid}`);
    report('released', { group: ctx.groupId, index: ctx.index });
    ctx.signal.throwIfAborted();
    return process.pid;
  },

  /** Fails once the test pushes to `<keys>:fail:<group>`. */
  failWhenTold: async (data: { keys: string }, ctx: TaskContext) => {
    report('waiting', { group: ctx.groupId, index: ctx.index });
    await untilTold(`${data.keys}:fail:${ctx.groupId}`);
    throw new Error('told to fail');
  },

  /**
   * Holds one permit of `x` (taken by the worker before the handler runs) for `holdMs`. Inside it, the
   * independent admission counter counts it; every start and every completed run is recorded, with an
   * id of its own, so a command replayed after a reconnect is not counted twice.
   */
  work: {
    options: { limits: { x: 1 } },
    handler: async (data: WorkData, ctx: TaskContext) => {
      const run = `${ctx.groupId}:${ctx.index}:${ctx.attempt}:${process.pid}:${++runs}`;
      const entry = `${ctx.index} ${process.pid} ${runs}`;
      const keys = chaosKeys(data.keys, ctx.groupId);
      const counter = admissionKeys(data.keys);
      onAbort(ctx);
      const inside = await enter(direct(), counter, run, process.pid, data.limit);
      try {
        await direct().sadd(keys.starts, entry);
        report('inside', { group: ctx.groupId, index: ctx.index, attempt: ctx.attempt, inside });
        if (data.blockFirstAttempt === true && ctx.attempt === 1) {
          await new Promise((_resolve, reject) => {
            if (ctx.signal.aborted) reject(ctx.signal.reason);
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
          });
        }
        await sleep(data.holdMs, undefined, { signal: ctx.signal });
        await direct().sadd(keys.completions, entry);
      } finally {
        await leave(direct(), counter, run);
      }
      return { index: ctx.index, pid: process.pid };
    },
  },
};

export default tasks;
