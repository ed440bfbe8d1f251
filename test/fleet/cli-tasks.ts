import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext, TaskModuleEntry } from '../../worker/index.ts';

/**
 * Tasks for the CLI and dashboard tests, run by `taskfleet worker --tasks` processes. These workers are
 * started as users start them (no IPC), so tests follow them through Redis: group counts, semaphore
 * holders and waiters, heartbeats.
 */
function untilAborted(ctx: TaskContext): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (ctx.signal.aborted) reject(ctx.signal.reason);
    else ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
  });
}

const tasks: Record<string, TaskModuleEntry> = {
  /** Sleeps (abortably), then returns `value`. */
  sleep: async (data: { ms: number; value?: unknown }, ctx: TaskContext) => {
    await sleep(data.ms, undefined, { signal: ctx.signal });
    return data.value ?? data.ms;
  },

  /** Throws an error with a code. */
  fail: (data: { message?: string } | undefined) => {
    throw Object.assign(new Error(data?.message ?? 'boom'), { code: 'E_TEST' });
  },

  /** Runs until its group is cancelled. */
  block: (_data: unknown, ctx: TaskContext) => untilAborted(ctx),

  /** Takes a permit of a fleet-wide semaphore (limit given here), then holds it until cancelled. */
  hold: async (data: { semaphore: string; limit: number }, ctx: TaskContext) => {
    await using _permit = await ctx.semaphore(data.semaphore, data.limit).acquire({ signal: ctx.signal });
    // Awaited here, so the permit is held until the task ends (a returned promise would release it now).
    return await untilAborted(ctx);
  },
};

export default tasks;
