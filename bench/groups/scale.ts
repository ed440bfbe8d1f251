/**
 * `npm run bench:scale`: one huge group, submitted by streaming, against plain BullMQ's addBulk.
 *
 * A fresh producer process streams TASKS tasks (then twice as many) into an empty redis-server; no
 * worker runs. Measured: the process's peak RSS (it should stay flat when the group doubles) and the
 * enqueue rate. Runs alternate between the systems; median (min–max) over ROUNDS runs. The producers
 * run plain JavaScript, taskfleet from its build (made first): what an installed package runs.
 * Two more pairs of rows cap V8's young generation (`--max-semi-space-size`), which is most of a
 * streaming producer's memory on a machine with much RAM, and then the old one too
 * (`--max-old-space-size`, which V8 lets grow to about four times the live heap between full GCs):
 * what a user can do about it, and what it costs in enqueue rate.
 * (Throughput with 1, 2 and 4 worker processes is in bench:groups.)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../infra/redis-server.ts';
import { defaults } from '../../shared/defaults.ts';
import { BenchChild } from '../lib/bench-child.ts';
import { describeEnvironment } from '../lib/environment.ts';
import { table, verdict } from '../lib/markdown.ts';
import { writeSection } from '../lib/results-file.ts';
import { formatSpread, spread } from '../lib/stats.ts';
import type { Kind } from './bench-workers.ts';

const TASKS = Number(process.env.BENCH_SCALE_TASKS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const KINDS: Kind[] = ['bullmq', 'taskfleet'];
/** V8's semi-space cap (MB) of the extra rows; a young generation is three of them at most. */
const SEMI_SPACE_MB = 4;
/** The old generation's cap (MB) of the last rows: a streaming producer's live heap is about 20 MB. */
const OLD_SPACE_MB = 64;
const SEMI_CAP = `--max-semi-space-size=${SEMI_SPACE_MB}`;
const OLD_CAP = `--max-old-space-size=${OLD_SPACE_MB}`;
/** What is measured: Node's defaults at TASKS and twice as many (the targets), and the two caps at TASKS. */
const VARIANTS = [
  { tasks: TASKS, flags: [] as string[] },
  { tasks: 2 * TASKS, flags: [] as string[] },
  { tasks: TASKS, flags: [SEMI_CAP] },
  { tasks: TASKS, flags: [SEMI_CAP, OLD_CAP] },
];
const PRODUCER = new URL('./stream-producer.mjs', import.meta.url);
const MB = 2 ** 20;

execFileSync(process.execPath, [fileURLToPath(new URL('../../infra/build-package.ts', import.meta.url))], {
  stdio: 'inherit',
});

const server = await startRedisServer();
const redis = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';

interface Run {
  readonly perSecond: number;
  readonly peakRssMb: number;
  readonly baselineRssMb: number;
}

async function run(kind: Kind, tasks: number, flags: string[]): Promise<Run> {
  await redis.flushall();
  const config = {
    url: server.url,
    kind,
    queue: 'scale',
    tasks,
    batch: defaults.batchSize,
    removeOnComplete: defaults.removeOnComplete,
    removeOnFail: defaults.removeOnFail,
  };
  const child = await BenchChild.start(PRODUCER, config, flags);
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
const key = (kind: Kind, tasks: number, flags: string[]) => `${kind}/${tasks}/${flags.join(' ')}`;
const label = (tasks: number, flags: string[]) =>
  `${tasks.toLocaleString('en-US')} tasks${flags.length > 0 ? `, \`${flags.join(' ')}\`` : ''}`;
for (let round = 0; round < ROUNDS; round++) {
  for (const { tasks, flags } of VARIANTS) {
    for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const result = await run(kind, tasks, flags);
      const k = key(kind, tasks, flags);
      results.set(k, [...(results.get(k) ?? []), result]);
      console.log(
        `${kind}, ${label(tasks, flags)}: ${Math.round(result.perSecond)} tasks/s enqueued, peak RSS ${result.peakRssMb.toFixed(0)} MB`,
      );
    }
  }
}
await redis.flushall();

const figure = (kind: Kind, tasks: number, flags: string[], pick: (r: Run) => number) =>
  spread((results.get(key(kind, tasks, flags)) ?? []).map(pick));
const rows = VARIANTS.flatMap(({ tasks, flags }) =>
  KINDS.map((kind) => [
    `${kind === 'bullmq' ? 'plain BullMQ' : 'taskfleet'}, ${label(tasks, flags)}`,
    formatSpread(figure(kind, tasks, flags, (r) => r.baselineRssMb)),
    formatSpread(figure(kind, tasks, flags, (r) => r.peakRssMb)),
    formatSpread(figure(kind, tasks, flags, (r) => r.perSecond)),
  ]),
);
const peak = figure('taskfleet', TASKS, [], (r) => r.peakRssMb).median;
const doubled = figure('taskfleet', 2 * TASKS, [], (r) => r.peakRssMb).median;
const baseline = figure('bullmq', TASKS, [], (r) => r.peakRssMb).median;
const capped = figure('taskfleet', TASKS, [SEMI_CAP], (r) => r.peakRssMb).median;
const cappedBaseline = figure('bullmq', TASKS, [SEMI_CAP], (r) => r.peakRssMb).median;
const bothCapped = figure('taskfleet', TASKS, [SEMI_CAP, OLD_CAP], (r) => r.peakRssMb).median;
const bothCappedBaseline = figure('bullmq', TASKS, [SEMI_CAP, OLD_CAP], (r) => r.peakRssMb).median;
const growth = doubled / peak;
const body = [
  '## Scale: one huge group, streamed',
  '',
  ...describeEnvironment(redisVersion).map((line) => `- ${line}`),
  `- A fresh producer process per run streams the tasks into an empty Redis (no worker running): taskfleet feeds one group with \`createTask\` and \`await tg.drain()\` whenever a batch waits; plain BullMQ calls \`addBulk\` one batch at a time (${defaults.batchSize} tasks). Both run plain JavaScript, taskfleet from its build (\`dist/\`), as an installed package does. ${ROUNDS} runs per row, alternating; median (min–max).`,
  `- The first four rows run with Node's defaults, under which V8 sizes the young generation from the machine's memory (up to 128 MB here); the targets are judged on them. The next two cap the young generation (\`${SEMI_CAP}\`), the last two the old generation as well (\`${OLD_CAP}\`; V8 otherwise lets it grow to about four times the live heap, some 20 MB here, between full collections).`,
  '',
  ...table(['', 'RSS before the first task (MB)', 'peak RSS (MB)', 'enqueued per second'], rows),
  '### Against the targets',
  '',
  `- Producer peak RSS ≤ 150 MB for ${TASKS.toLocaleString('en-US')} tasks: ${verdict(peak <= 150)} (${peak.toFixed(0)} MB; plain BullMQ in the same harness: ${baseline.toFixed(0)} MB. With the young generation capped: ${capped.toFixed(0)} MB, plain BullMQ ${cappedBaseline.toFixed(0)} MB; with both generations capped: ${bothCapped.toFixed(0)} MB, plain BullMQ ${bothCappedBaseline.toFixed(0)} MB).`,
  `- Flat when the group doubles (within 10%): ${verdict(growth <= 1.1)} (${doubled.toFixed(0)} MB for ${(2 * TASKS).toLocaleString('en-US')}, ×${growth.toFixed(2)}).`,
].join('\n');
writeSection('scale', body);
console.log(`\n${body}\n`);
await redis.quit();
await server.stop();
