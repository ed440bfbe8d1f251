import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext, TaskModuleEntry } from '../../worker/index.ts';
import { spin } from './cpu.ts';
import { report } from './report.ts';

/** Waits until the signal aborts; reports the abort with its reason, then rejects with it. */
function untilAborted(ctx: TaskContext, fields: Record<string, unknown>): Promise<never> {
  return new Promise((_resolve, reject) => {
    const onAbort = (): void => {
      const reason = ctx.signal.reason as {
        name?: string;
        code?: string;
        kind?: string;
        reason?: string;
        by?: unknown;
      };
      report('aborted', {
        ...fields,
        reasonName: reason?.name,
        code: reason?.code,
        cancelKind: reason?.kind,
        reason: reason?.reason,
        by: reason?.by,
      });
      reject(ctx.signal.reason);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

const where = (ctx: TaskContext) => ({
  group: ctx.groupId,
  index: ctx.index,
  task: ctx.name,
  attempt: ctx.attempt,
});

/** Task handlers the fleet tests run in worker processes. Each reports what it does. */
const tasks: Record<string, TaskModuleEntry> = {
  /** Returns its data. */
  echo: (data: unknown, ctx: TaskContext) => {
    report('entered', where(ctx));
    return data;
  },

  /** Runs until cancelled. */
  block: async (data: { tag?: string } | undefined, ctx: TaskContext) => {
    report('started', { ...where(ctx), tag: data?.tag });
    return untilAborted(ctx, { ...where(ctx), tag: data?.tag });
  },

  /** Sleeps (abortably), then returns `value`. */
  sleep: async (data: { ms: number; value?: unknown }, ctx: TaskContext) => {
    report('started', where(ctx));
    await sleep(data.ms, undefined, { signal: ctx.signal });
    report('finished', where(ctx));
    return data.value;
  },

  /** Throws. */
  fail: (data: { message?: string } | undefined, ctx: TaskContext) => {
    report('started', where(ctx));
    const error = new Error(data?.message ?? 'boom');
    (error as Error & { code?: string }).code = 'E_TEST';
    throw error;
  },

  /** Fails on the attempts listed, succeeds on the others. */
  flaky: (data: { failOn: number[]; value?: unknown }, ctx: TaskContext) => {
    report('attempt', where(ctx));
    if (data.failOn.includes(ctx.attempt)) throw new Error(`failed attempt ${ctx.attempt}`);
    return data.value;
  },

  /** Adds a sibling to its own group, then returns the sibling's index. */
  addSibling: async (data: { name: string; data?: unknown }, ctx: TaskContext) => {
    const ref = await ctx.createTask(data.name, data.data);
    report('added', { ...where(ctx), sibling: ref.index });
    return ref.index;
  },

  /** Opens a child group of `count` tasks of `name` and returns its results. */
  openChild: async (
    data: { name: string; count: number; data?: unknown; policy?: 'fail-fast' | 'all-settled' },
    ctx: TaskContext,
  ) => {
    report('started', where(ctx));
    await using child = ctx.taskGroup({
      name: `child of ${ctx.index}`,
      ...(data.policy ? { policy: data.policy } : {}),
    });
    report('child-opened', { ...where(ctx), child: child.id });
    for (let k = 0; k < data.count; k++) child.createTask(data.name, data.data ?? { value: k });
    const results = await child.wait();
    report('child-done', { ...where(ctx), child: child.id });
    return results;
  },

  /** Runs a CPU-bound function on a worker thread. */
  threaded: async (data: { ms: number }, ctx: TaskContext) => {
    report('started', where(ctx));
    const spun = await ctx.toThread<number>(new URL('./cpu.ts', import.meta.url), 'spin', [data.ms]);
    report('finished', where(ctx));
    return spun;
  },

  /** CPU work on a thread, while measuring this worker's event-loop lag (ms). */
  lagWithThread: async (data: { ms: number }, ctx: TaskContext) => {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const iterations = await ctx.toThread<number>(new URL('./cpu.ts', import.meta.url), 'spin', [data.ms]);
    lag.disable();
    return { iterations, maxLagMs: lag.max / 1e6 };
  },

  /** The same CPU work on the event loop itself: what toThread avoids. */
  lagInline: async (data: { ms: number }) => {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    await sleep(20); // let the monitor take a first sample
    const iterations = spin(data.ms);
    await sleep(20);
    lag.disable();
    return { iterations, maxLagMs: lag.max / 1e6 };
  },

  /** Holds a permit of a fleet-wide semaphore while it sleeps. */
  withPermit: async (data: { semaphore: string; limit: number; ms: number }, ctx: TaskContext) => {
    await using permit = await ctx.semaphore(data.semaphore, data.limit).acquire();
    report('holding', { ...where(ctx), token: permit.token });
    await sleep(data.ms, undefined, { signal: ctx.signal });
    return permit.token;
  },

  /** Returns something JSON cannot carry. */
  badResult: () => ({ big: 10n }),
};

export default tasks;
