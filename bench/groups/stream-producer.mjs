/**
 * A benchmark producer process: streams TASKS no-op tasks into one queue and reports its peak memory.
 * BENCH_CONFIG = { url, kind: 'bullmq' | 'taskfleet', queue, tasks, batch }.
 *   -> { type: 'ready' } once connected, then { op: 'go' } -> { type: 'done', seconds, baselineRssBytes, peakRssBytes }
 * (baseline: RSS once the modules are loaded and the connection is up, before the first task)
 *
 * taskfleet: one group, createTask in a loop, `await tg.drain()` whenever a batch is waiting (the
 * README's way to feed a long group); BullMQ: addBulk of one batch at a time. Nothing else is held.
 *
 * Plain JavaScript, and taskfleet from its build (dist/, which scale.ts makes first): what an installed
 * package runs. A `.ts` entry would load Node's TypeScript stripper, about 25 MB that no user's
 * producer carries, into both systems' figures.
 */
import { readFileSync } from 'node:fs';

const config = JSON.parse(process.env.BENCH_CONFIG ?? '{}');
process.once('disconnect', () => process.exit(1));
const reply = (message) => process.send?.(message);

/**
 * This process's peak RSS. Not getrusage's maxRSS: on Linux a spawned child inherits its parent's peak
 * there (kept across exec), so a benchmark parent grown by earlier runs would set a floor under every
 * figure. VmHWM is the peak of this process image alone.
 */
function peakRssBytes() {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb !== undefined) return Number(kb) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

// Each system loads only its own modules: the baseline RSS is its own.
async function taskfleet() {
  const { Producer } = await import('../../dist/producer/index.js');
  const producer = new Producer({ connection: config.url, queue: config.queue, prefix: 'bench' });
  await producer.ready();
  return async () => {
    const tg = producer.taskGroup({ name: 'scale' });
    for (let i = 0; i < config.tasks; i++) {
      tg.createTask('noop', { i });
      if (tg.buffered >= config.batch) await tg.drain();
    }
    await tg.close();
    await producer.close();
  };
}

async function bullmq() {
  const { Queue } = await import('bullmq');
  const queue = new Queue(config.queue, { connection: { url: config.url }, prefix: 'bench' });
  await queue.waitUntilReady();
  return async () => {
    for (let i = 0; i < config.tasks; i += config.batch) {
      const jobs = Array.from({ length: Math.min(config.batch, config.tasks - i) }, (_, k) => ({
        name: 'noop',
        data: { i: i + k },
        opts: { removeOnComplete: config.removeOnComplete, removeOnFail: config.removeOnFail },
      }));
      await queue.addBulk(jobs);
    }
    await queue.close();
  };
}

const stream = await (config.kind === 'taskfleet' ? taskfleet() : bullmq());
const baselineRssBytes = process.memoryUsage().rss;
process.on('message', (message) => {
  if (message.op !== 'go') return;
  const started = performance.now();
  stream().then(
    () => {
      reply({
        type: 'done',
        seconds: (performance.now() - started) / 1000,
        baselineRssBytes,
        peakRssBytes: peakRssBytes(),
      });
      process.exit(0);
    },
    (error) => {
      reply({ type: 'error', message: String(error) });
      process.exit(1);
    },
  );
});
reply({ type: 'ready' });
