/**
 * A benchmark worker process: plain BullMQ or taskfleet, driven by the parent over IPC.
 * BENCH_CONFIG = { url, kind: 'bullmq' | 'taskfleet', queue, concurrency }.
 *
 *   -> { type: 'done', count, lastAt }  tasks completed since the last report, every 50 ms, and when the
 *                                   last of them completed (BullMQ: its `completed` event fired;
 *                                   taskfleet: the handler returned)
 *   { op: 'usage' } -> { type: 'usage', sent, cpuUsec }  since the last usage: commands sent, by name; CPU time
 *   { op: 'exit' }                  close the worker and exit
 *
 * taskfleet tasks for the cancellation benchmark (times absolute, see bench-child.ts now()):
 *   hold: -> { type: 'started', group, index }; on ctx.signal abort -> { type: 'aborted', group, index, at }
 *   fail: -> { type: 'started', group, index, fail: true }; throws once told { op: 'fail', group },
 *         reporting -> { type: 'failed', group, at } just before
 */
import { Worker } from 'bullmq';
import { FleetWorker, type TaskContext } from '../../worker/index.ts';
import { benchConfig, now, reply } from '../lib/bench-child.ts';
import { countCommands } from '../lib/command-counter.ts';

interface Config {
  readonly url: string;
  readonly kind: 'bullmq' | 'taskfleet';
  readonly queue: string;
  readonly concurrency: number;
}

const config = benchConfig<Config>();
const sent = countCommands();
let cpuMark = process.cpuUsage();
// Completions are reported every 50 ms with the time of the last one, not per task: the counting must
// not weigh on what it counts. (Reporting every 2 ms cost each worker ~8% of its time in blocking IPC
// writes while the parent was busy enqueueing.)
let done = 0;
let lastAt = 0;
const completed = (): void => {
  done++;
  lastAt = now();
};
setInterval(() => {
  if (done === 0) return;
  reply({ type: 'done', count: done, lastAt });
  done = 0;
}, 50).unref();
const failNow = new Map<string, () => void>();
let close: () => Promise<void>;

if (config.kind === 'bullmq') {
  const worker = new Worker(config.queue, async () => undefined, {
    connection: { url: config.url, maxRetriesPerRequest: null },
    prefix: 'bench',
    concurrency: config.concurrency,
    // The retention taskfleet gives its jobs by default.
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  });
  worker.on('completed', completed);
  await worker.waitUntilReady();
  close = () => worker.close();
} else {
  const worker = new FleetWorker({
    connection: config.url,
    queue: config.queue,
    concurrency: config.concurrency,
    prefix: 'bench',
  });
  worker.task('noop', () => {
    completed();
  });
  worker.task('hold', async (_data: unknown, ctx: TaskContext) => {
    const { groupId: group, index } = ctx;
    reply({ type: 'started', group, index });
    await new Promise<void>((resolve) => {
      ctx.signal.addEventListener('abort', () => {
        reply({ type: 'aborted', group, index, at: now() });
        resolve();
      });
    });
    throw ctx.signal.reason;
  });
  worker.task('fail', async (_data: unknown, ctx: TaskContext) => {
    const { groupId: group, index } = ctx;
    await new Promise<void>((resolve) => {
      failNow.set(group, resolve);
      reply({ type: 'started', group, index, fail: true });
    });
    failNow.delete(group);
    reply({ type: 'failed', group, at: now() });
    throw new Error('planned failure');
  });
  await worker.ready();
  close = () => worker.close();
}

process.on('message', (message: { op: string; group?: string }) => {
  if (message.op === 'fail') failNow.get(message.group ?? '')?.();
  if (message.op === 'usage') {
    const cpu = process.cpuUsage(cpuMark);
    cpuMark = process.cpuUsage();
    reply({ type: 'usage', sent: [...sent], cpuUsec: cpu.user + cpu.system });
    sent.clear();
  }
  if (message.op === 'exit') void close().then(() => process.exit(0));
});
reply({ type: 'ready' });
