import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext, TaskModuleEntry } from '../../worker/index.ts';
import { report } from './report.ts';

/** Tasks for a worker with `localLimits: { cpu: 1 }`: counts how many run at once in this process. */
let exclusiveNow = 0;
let anyNow = 0;

const tasks: Record<string, TaskModuleEntry> = {
  exclusive: {
    options: { local: { cpu: 1 } },
    handler: async (_data: unknown, ctx: TaskContext) => {
      exclusiveNow++;
      anyNow++;
      report('running', { group: ctx.groupId, index: ctx.index, exclusive: exclusiveNow, any: anyNow });
      await sleep(50);
      exclusiveNow--;
      anyNow--;
    },
  },
  free: async (_data: unknown, ctx: TaskContext) => {
    anyNow++;
    report('running', { group: ctx.groupId, index: ctx.index, exclusive: exclusiveNow, any: anyNow });
    await sleep(50);
    anyNow--;
  },
};

export default tasks;
