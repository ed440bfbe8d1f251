import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis, type RedisClient } from '../../shared/connection.ts';
import type { TaskContext, TaskModuleEntry } from '../../worker/index.ts';
import { report } from './report.ts';

/**
 * Tasks for workers with `globalLimits: { api: ... }`. Each counts, in a Redis key the test names, how
 * many tasks are inside the limited section right now, fleet-wide: INCR after acquiring, DECR before
 * releasing, so the count can only under-report the holders.
 */
let redis: RedisClient | undefined;
const counters = (): RedisClient => {
  // createRedis: the fleet's Redis may be a cluster (a redis+cluster:// URL).
  redis ??= createRedis(process.env.TASKFLEET_TEST_REDIS ?? '', { name: 'test-counters' });
  return redis;
};

interface Counted {
  readonly key: string;
  readonly holdMs: number;
}

async function counted(
  data: Counted,
  ctx: TaskContext,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const now = await counters().incr(data.key);
  report('inside', { group: ctx.groupId, index: ctx.index, now, ...extra });
  try {
    await sleep(data.holdMs, undefined, { signal: ctx.signal });
  } finally {
    await counters().decr(data.key);
  }
  return now;
}

const where = (ctx: TaskContext) => ({ group: ctx.groupId, index: ctx.index });

const tasks: Record<string, TaskModuleEntry> = {
  /** Holds one permit of the declared `api` limit. */
  callApi: {
    options: { limits: { api: 1 } },
    handler: (data: Counted, ctx: TaskContext) => counted(data, ctx),
  },

  /** Takes a permit of `db` (limit given here) with ctx.semaphore. */
  useDb: async (data: Counted & { limit: number }, ctx: TaskContext) => {
    await using permit = await ctx.semaphore('db', data.limit).acquire();
    return { now: await counted(data, ctx, { token: permit.token }), token: permit.token };
  },

  /** No limit of its own: its group's maxConcurrency is what bounds it. */
  count: (data: Counted, ctx: TaskContext) => counted(data, ctx),

  /** Holds an `api` permit until cancelled (or until the permit is lost). */
  holdApi: {
    options: { limits: { api: 1 } },
    handler: (_data: unknown, ctx: TaskContext) => {
      report('started', where(ctx));
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          const reason = ctx.signal.reason as { name?: string; code?: string };
          report('aborted', { ...where(ctx), reasonName: reason?.name, code: reason?.code });
          reject(ctx.signal.reason);
        });
      });
    },
  },

  /** Runs until cancelled. */
  block: (_data: unknown, ctx: TaskContext) => {
    report('started', where(ctx));
    return new Promise((_resolve, reject) =>
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
    );
  },

  /** Waits for the `gate` semaphore (limit 1), which the test holds. */
  throughGate: async (_data: unknown, ctx: TaskContext) => {
    report('waiting', where(ctx));
    await using permit = await ctx.semaphore('gate', 1).acquire();
    report('through', { ...where(ctx), token: permit.token });
    return permit.token;
  },

  /** Asks for the `gate` semaphore without awaiting it, and returns: its attempt ends while it waits. */
  forgetGate: (_data: unknown, ctx: TaskContext) => {
    void ctx
      .semaphore('gate', 1)
      .acquire()
      .then(
        (permit) => report('granted', { ...where(ctx), token: permit.token }),
        (error: { code?: string }) => report('refused', { ...where(ctx), code: error.code }),
      );
    return 'returned';
  },

  echo: (data: unknown, ctx: TaskContext) => {
    report('entered', where(ctx));
    return data;
  },
};

export default tasks;
