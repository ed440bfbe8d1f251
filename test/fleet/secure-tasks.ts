import type { TaskContext, TaskModuleEntry } from '../../worker/index.ts';
import { report } from './report.ts';

/** Tasks of the secure-connection tests: a fleet-wide permit held until cancelled, a failure, an echo. */
const where = (ctx: TaskContext) => ({ group: ctx.groupId, index: ctx.index });

function reportAbort(ctx: TaskContext, phase: string): void {
  const reason = ctx.signal.reason as { kind?: string; by?: { index?: number } } | undefined;
  report('aborted', { ...where(ctx), phase, cancelKind: reason?.kind, byIndex: reason?.by?.index });
}

const tasks: Record<string, TaskModuleEntry> = {
  /** Takes a permit of a fleet-wide semaphore (waiting if need be), then holds it until cancelled. */
  holdLimit: async (data: { semaphore: string; limit: number }, ctx: TaskContext) => {
    report('waiting', where(ctx));
    let permit: AsyncDisposable;
    try {
      permit = await ctx.semaphore(data.semaphore, data.limit).acquire({ signal: ctx.signal });
    } catch (error) {
      reportAbort(ctx, 'waiting');
      throw error;
    }
    await using _held = permit;
    report('holding', where(ctx));
    await new Promise((_resolve, reject) => {
      const onAbort = (): void => {
        reportAbort(ctx, 'holding');
        reject(ctx.signal.reason);
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
  },

  fail: (_data: unknown, ctx: TaskContext) => {
    report('failing', where(ctx));
    throw new Error('boom');
  },

  echo: (data: unknown) => data,
};

export default tasks;
