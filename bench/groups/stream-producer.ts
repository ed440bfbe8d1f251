/**
 * A benchmark producer process: streams TASKS no-op tasks into one queue and reports its peak memory.
 * BENCH_CONFIG = { url, kind: 'bullmq' | 'taskfleet', queue, tasks }.
 *   -> { type: 'ready' } once connected, then { op: 'go' } -> { type: 'done', seconds, baselineRssBytes, peakRssBytes }
 * (baseline: RSS once the modules are loaded and the connection is up, before the first task)
 *
 * taskfleet: one group, createTask in a loop, `await tg.drain()` whenever a batch is waiting (the
 * README's way to feed a long group); BullMQ: addBulk of one batch at a time. Nothing else is held.
 */
import { defaults } from '../../shared/defaults.ts';
import { benchConfig, reply } from '../lib/bench-child.ts';

interface Config {
  readonly url: string;
  readonly kind: 'bullmq' | 'taskfleet';
  readonly queue: string;
  readonly tasks: number;
}

const config = benchConfig<Config>();
const BATCH = defaults.batchSize;

// Each system loads only its own modules: the baseline RSS is its own.
async function taskfleet(): Promise<() => Promise<void>> {
  const { Producer } = await import('../../producer/index.ts');
  const producer = new Producer({ connection: config.url, queue: config.queue, prefix: 'bench' });
  await producer.ready();
  return async () => {
    const tg = producer.taskGroup({ name: 'scale' });
    for (let i = 0; i < config.tasks; i++) {
      tg.createTask('noop', { i });
      if (tg.buffered >= BATCH) await tg.drain();
    }
    await tg.close();
    await producer.close();
  };
}

async function bullmq(): Promise<() => Promise<void>> {
  const { Queue } = await import('bullmq');
  const queue = new Queue(config.queue, { connection: { url: config.url }, prefix: 'bench' });
  await queue.waitUntilReady();
  return async () => {
    for (let i = 0; i < config.tasks; i += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, config.tasks - i) }, (_, k) => ({
        name: 'noop',
        data: { i: i + k },
        opts: { removeOnComplete: defaults.removeOnComplete, removeOnFail: defaults.removeOnFail },
      }));
      await queue.addBulk(jobs);
    }
    await queue.close();
  };
}

const stream = await (config.kind === 'taskfleet' ? taskfleet() : bullmq());
const baselineRssBytes = process.memoryUsage().rss;
process.on('message', (message: { op: string }) => {
  if (message.op !== 'go') return;
  const started = performance.now();
  void stream().then(
    () => {
      reply({
        type: 'done',
        seconds: (performance.now() - started) / 1000,
        baselineRssBytes,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      });
      process.exit(0);
    },
    (error: unknown) => {
      reply({ type: 'error', message: String(error) });
      process.exit(1);
    },
  );
});
reply({ type: 'ready' });
