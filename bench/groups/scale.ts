/**
 * `npm run bench:scale`: one huge group, submitted by streaming, against plain BullMQ's addBulk.
 *
 * A fresh producer process streams TASKS tasks (then twice as many) into an empty redis-server; no
 * worker runs. Measured: the process's peak RSS (it should stay flat when the group doubles) and the
 * enqueue rate. Runs alternate between the systems; median (min–max) over ROUNDS runs.
 * (Throughput with 1, 2 and 4 worker processes is in bench:groups.)
 */
import { Redis } from 'ioredis';
import { startRedisServer } from '../../infra/redis-server.ts';
import { BenchChild } from '../lib/bench-child.ts';
import { describeEnvironment } from '../lib/environment.ts';
import { table, verdict } from '../lib/markdown.ts';
import { writeSection } from '../lib/results-file.ts';
import { formatSpread, spread } from '../lib/stats.ts';
import type { Kind } from './bench-workers.ts';

const TASKS = Number(process.env.BENCH_SCALE_TASKS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = [TASKS, 2 * TASKS];
const KINDS: Kind[] = ['bullmq', 'taskfleet'];
const PRODUCER = new URL('./stream-producer.ts', import.meta.url);
const MB = 2 ** 20;

const server = await startRedisServer();
const redis = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';

interface Run {
  readonly perSecond: number;
  readonly peakRssMb: number;
  readonly baselineRssMb: number;
}

async function run(kind: Kind, tasks: number): Promise<Run> {
  await redis.flushall();
  const child = await BenchChild.start(PRODUCER, { url: server.url, kind, queue: 'scale', tasks });
  child.send({ op: 'go' });
  const done = await child.next();
  if (done.type !== 'done') throw new Error(`producer: ${String(done.message)}`);
  return {
    perSecond: tasks / (done.seconds as number),
    peakRssMb: (done.peakRssBytes as number) / MB,
    baselineRssMb: (done.baselineRssBytes as number) / MB,
  };
}

const results = new Map<string, Run[]>();
const key = (kind: Kind, tasks: number) => `${kind}/${tasks}`;
for (let round = 0; round < ROUNDS; round++) {
  for (const tasks of SIZES) {
    for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const result = await run(kind, tasks);
      results.set(key(kind, tasks), [...(results.get(key(kind, tasks)) ?? []), result]);
      console.log(
        `${kind}, ${tasks.toLocaleString('en-US')} tasks: ${Math.round(result.perSecond)} tasks/s enqueued, peak RSS ${result.peakRssMb.toFixed(0)} MB`,
      );
    }
  }
}
await redis.flushall();

const figure = (kind: Kind, tasks: number, pick: (r: Run) => number) =>
  spread((results.get(key(kind, tasks)) ?? []).map(pick));
const rows = SIZES.flatMap((tasks) =>
  KINDS.map((kind) => [
    `${kind === 'bullmq' ? 'plain BullMQ' : 'taskfleet'}, ${tasks.toLocaleString('en-US')} tasks`,
    formatSpread(figure(kind, tasks, (r) => r.baselineRssMb)),
    formatSpread(figure(kind, tasks, (r) => r.peakRssMb)),
    formatSpread(figure(kind, tasks, (r) => r.perSecond)),
  ]),
);
const peak = figure('taskfleet', SIZES[0] ?? TASKS, (r) => r.peakRssMb).median;
const doubled = figure('taskfleet', SIZES[1] ?? TASKS, (r) => r.peakRssMb).median;
const growth = doubled / peak;
const body = [
  '## Scale: one huge group, streamed',
  '',
  ...describeEnvironment(redisVersion).map((line) => `- ${line}`),
  `- A fresh producer process per run streams the tasks into an empty Redis (no worker running): taskfleet feeds one group with \`createTask\` and \`await tg.drain()\` whenever a batch waits; plain BullMQ calls \`addBulk\` one batch at a time. ${ROUNDS} runs per row, alternating; median (min–max).`,
  '',
  ...table(['', 'RSS before the first task (MB)', 'peak RSS (MB)', 'enqueued per second'], rows),
  '### Against the targets',
  '',
  `- Producer peak RSS ≤ 150 MB for ${TASKS.toLocaleString('en-US')} tasks: ${verdict(peak <= 150)} (${peak.toFixed(0)} MB).`,
  `- Flat when the group doubles (within 10%): ${verdict(growth <= 1.1)} (${doubled.toFixed(0)} MB for ${(2 * TASKS).toLocaleString('en-US')}, ×${growth.toFixed(2)}).`,
].join('\n');
writeSection('scale', body);
console.log(`\n${body}\n`);
await redis.quit();
await server.stop();
