/**
 * `npm run bench:groups`: what a task group costs against plain BullMQ, side by side on one redis-server.
 *
 *   1. throughput: TASKS no-op tasks in one fail-fast group (producer: createTask, then wait()) vs TASKS
 *      plain BullMQ jobs (addBulk in batches of the same size + a Worker of the same concurrency), with 1
 *      and 2 worker processes. The clock runs from the first enqueue to every task being durably done:
 *      the group's wait() resolved (results read) / the last BullMQ `completed` event.
 *   2. Redis cost per task: Redis's own time (INFO commandstats, nothing counted twice, see
 *      redis-cost.ts) and Redis's CPU (INFO cpu), from the same runs; then one extra run per system with
 *      every command logged (SLOWLOG) for an exact breakdown, scripts by name.
 * Runs alternate between the systems; figures are the median (min–max) over ROUNDS runs.
 */
import { availableParallelism } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../infra/redis-server.ts';
import { Producer } from '../../producer/index.ts';
import { defaults } from '../../shared/defaults.ts';
import { now } from '../lib/bench-child.ts';
import { countCommands } from '../lib/command-counter.ts';
import { commandStats, resetStats } from '../lib/command-stats.ts';
import { describeEnvironment } from '../lib/environment.ts';
import { table, verdict } from '../lib/markdown.ts';
import { mergeCounts, redisCpuUsec, sumUsec, topLevelCost } from '../lib/redis-cost.ts';
import { writeSection } from '../lib/results-file.ts';
import { scriptNames } from '../lib/script-names.ts';
import { type CommandCost, readEverything, recordEverything } from '../lib/slowlog.ts';
import { formatSpread, spread } from '../lib/stats.ts';
import { BenchWorkers, type Kind } from './bench-workers.ts';

const TASKS = Number(process.env.BENCH_TASKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 50;
const BATCH = defaults.batchSize;
const PROCESSES = (process.env.BENCH_PROCESSES ?? '1,2,4').split(',').map(Number);
/** The processes the throughput and Redis-cost targets speak of; 4 is the scale scenario's. */
const TARGETED = PROCESSES.filter((p) => p <= 2);
/** The benchmark's own commands (measuring, resetting), not the systems'. */
const IGNORE = new Set(['info', 'config', 'flushall', 'slowlog']);
const KINDS: Kind[] = ['bullmq', 'taskfleet'];
// For profiling one system (BENCH_PROFILE=1 BENCH_ONLY=taskfleet); a full run needs both.
const RUN_KINDS = KINDS.filter((kind) => (process.env.BENCH_ONLY ?? kind) === kind);
const LABEL: Record<Kind, string> = { bullmq: 'plain BullMQ', taskfleet: 'taskfleet' };

const sent = countCommands(); // this process: the producer / the BullMQ Queue
const server = await startRedisServer();
const redis = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
const names = await scriptNames();

interface Run {
  readonly perSecond: number;
  /** Redis's time per task, µs, each command once. */
  readonly usec: number;
  /** The plain sum of commandstats `usec` per task (scripts' and EXEC's inner work counted twice). */
  readonly naiveUsec: number;
  readonly cpuUsec: number;
  /** CPU time of the worker processes, and of this (producer) process, per task. */
  readonly workerCpuUsec: number;
  readonly producerCpuUsec: number;
  readonly costs: Map<string, CommandCost>;
  readonly exact: Map<string, CommandCost> | undefined;
}

let runs = 0;
async function run(kind: Kind, processes: number, tasks: number, logEverything = false): Promise<Run> {
  await redis.flushall();
  const queueName = `${kind}-${runs++}`;
  const workers = await BenchWorkers.start(
    { url: server.url, kind, queue: queueName, concurrency: CONCURRENCY },
    processes,
  );
  const queue =
    kind === 'bullmq'
      ? new Queue(queueName, { connection: { url: server.url }, prefix: 'bench' })
      : undefined;
  const producer =
    kind === 'taskfleet'
      ? new Producer({ connection: server.url, queue: queueName, prefix: 'bench' })
      : undefined;
  await queue?.waitUntilReady();
  await producer?.ready();
  await workers.usage();
  sent.clear();
  const producerCpu = process.cpuUsage();
  await resetStats(redis);
  const cpuBefore = await redisCpuUsec(redis);
  if (logEverything) await recordEverything(redis, 10_000_000);

  const started = now();
  let finished = started;
  if (queue !== undefined) {
    const allDone = workers.completed(tasks);
    for (let i = 0; i < tasks; i += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, tasks - i) }, (_, k) => ({
        name: 'noop',
        data: { i: i + k },
        opts: { removeOnComplete: defaults.removeOnComplete, removeOnFail: defaults.removeOnFail },
      }));
      await queue.addBulk(jobs);
    }
    finished = await allDone;
  } else if (producer !== undefined) {
    const group = producer.taskGroup({ name: 'bench' });
    for (let i = 0; i < tasks; i++) group.createTask('noop', { i });
    await group.wait();
    finished = now();
  }
  const seconds = (finished - started) / 1000;

  const exact = logEverything ? await readEverything(redis, names, IGNORE) : undefined;
  const stats = await commandStats(redis);
  const cpuAfter = await redisCpuUsec(redis);
  const producerUsage = process.cpuUsage(producerCpu);
  const workerUsage = await workers.usage();
  const allSent = new Map(sent);
  mergeCounts(allSent, workerUsage.sent);
  await workers.stop();
  await queue?.close();
  await producer?.close();
  let naive = 0;
  for (const [name, stat] of stats) if (!IGNORE.has(name.split('|')[0] ?? name)) naive += stat.usec;
  const costs = topLevelCost(stats, allSent, IGNORE);
  if (process.env.BENCH_VERBOSE) {
    const byName = [...allSent].filter(([name]) => !IGNORE.has(name)).sort((a, b) => b[1] - a[1]);
    console.log(
      '  sent per task:',
      byName.map(([name, n]) => `${name} ${(n / tasks).toFixed(3)}`).join(', '),
    );
  }
  return {
    perSecond: tasks / seconds,
    usec: sumUsec(costs) / tasks,
    naiveUsec: naive / tasks,
    cpuUsec: (cpuAfter - cpuBefore) / tasks,
    workerCpuUsec: workerUsage.cpuUsec / tasks,
    producerCpuUsec: (producerUsage.user + producerUsage.system) / tasks,
    costs,
    exact,
  };
}

// Warm both systems up (JIT, scripts loaded) before anything is measured.
for (const kind of RUN_KINDS) await run(kind, 1, Math.min(TASKS, 5000));

const results = new Map<string, Run[]>();
const key = (kind: Kind, processes: number) => `${kind}/${processes}`;
for (const processes of PROCESSES) {
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? RUN_KINDS : [...RUN_KINDS].reverse();
    for (const kind of order) {
      const result = await run(kind, processes, TASKS);
      results.set(key(kind, processes), [...(results.get(key(kind, processes)) ?? []), result]);
      console.log(
        `${LABEL[kind]}, ${processes} process(es): ${Math.round(result.perSecond)} tasks/s, µs per task: Redis ${result.usec.toFixed(1)}, Redis CPU ${result.cpuUsec.toFixed(1)}, workers ${result.workerCpuUsec.toFixed(1)}, producer ${result.producerCpuUsec.toFixed(1)}`,
      );
    }
  }
}
if (RUN_KINDS.length < KINDS.length) {
  // A profiling run: no comparison to write.
  await redis.quit();
  await server.stop();
  process.exit(0);
}
const exact = new Map<Kind, Map<string, CommandCost>>();
for (const kind of RUN_KINDS) exact.set(kind, (await run(kind, 1, TASKS, true)).exact ?? new Map());

const series = (kind: Kind, processes: number, pick: (r: Run) => number): number[] =>
  (results.get(key(kind, processes)) ?? []).map(pick);
const ratios = (processes: number, pick: (r: Run) => number): number[] => {
  const ours = series('taskfleet', processes, pick);
  return series('bullmq', processes, pick).map((theirs, i) => (ours[i] ?? Number.NaN) / theirs);
};

const throughputRows = PROCESSES.map((p) => [
  `${p} worker process${p > 1 ? 'es' : ''}`,
  formatSpread(spread(series('bullmq', p, (r) => r.perSecond))),
  formatSpread(spread(series('taskfleet', p, (r) => r.perSecond))),
  formatSpread(spread(ratios(p, (r) => r.perSecond)), 2),
]);
const cpuRows = PROCESSES.flatMap((p) =>
  (
    [
      ['worker processes', (r: Run) => r.workerCpuUsec],
      ['producer process', (r: Run) => r.producerCpuUsec],
      ['Redis main thread', (r: Run) => r.cpuUsec],
    ] as const
  ).map(([label, pick]) => [
    `${label}, ${p} worker process${p > 1 ? 'es' : ''}`,
    formatSpread(spread(series('bullmq', p, pick)), 1),
    formatSpread(spread(series('taskfleet', p, pick)), 1),
    formatSpread(spread(ratios(p, pick)), 2),
  ]),
);
const costRows = PROCESSES.flatMap((p) =>
  (
    [
      ['Redis time, each command once (target figure)', (r: Run) => r.usec],
      ['plain sum of commandstats usec', (r: Run) => r.naiveUsec],
      ['Redis main-thread CPU (INFO cpu)', (r: Run) => r.cpuUsec],
    ] as const
  ).map(([label, pick]) => [
    `${label}, ${p} process${p > 1 ? 'es' : ''}`,
    formatSpread(spread(series('bullmq', p, pick)), 1),
    formatSpread(spread(series('taskfleet', p, pick)), 1),
    formatSpread(spread(ratios(p, pick)), 2),
  ]),
);

/** A system's exact breakdown: each command or script, its calls and µs per task, costliest first. */
function breakdown(kind: Kind): string[] {
  const costs = [...(exact.get(kind) ?? new Map<string, CommandCost>())].sort(
    (a, b) => b[1].usec - a[1].usec,
  );
  const total = costs.reduce((sum, [, cost]) => sum + cost.usec, 0);
  return table(
    ['command or script', 'calls per task', 'µs per task', 'share'],
    [
      ...costs
        .filter(([, cost]) => cost.usec / TASKS >= 0.05)
        .map(([name, cost]) => [
          name,
          (cost.calls / TASKS).toFixed(3),
          (cost.usec / TASKS).toFixed(2),
          `${Math.round((cost.usec / total) * 100)}%`,
        ]),
      ['**total**', '', `**${(total / TASKS).toFixed(2)}**`, '100%'],
    ],
  );
}

/** Scale: 4 worker processes on this machine keep at least 80% of the best of 1 and 2. */
function collapse(): string {
  const median = (kind: Kind, p: number) => spread(series(kind, p, (r) => r.perSecond)).median;
  const share = (kind: Kind) => median(kind, 4) / Math.max(median(kind, 1), median(kind, 2));
  return `- With 4 worker processes on ${availableParallelism()} cores, throughput does not collapse (≥ 80% of the best of 1 and 2 processes): ${verdict(share('taskfleet') >= 0.8)} (taskfleet ${Math.round(share('taskfleet') * 100)}%; plain BullMQ ${Math.round(share('bullmq') * 100)}%).`;
}

const tput = (p: number) => spread(ratios(p, (r) => r.perSecond)).median;
const cost = (p: number) => spread(ratios(p, (r) => r.usec)).median;
const body = [
  '## Task groups against plain BullMQ',
  '',
  ...describeEnvironment(redisVersion).map((line) => `- ${line}`),
  `- ${TASKS.toLocaleString('en-US')} no-op tasks per run, worker concurrency ${CONCURRENCY} per process, enqueued in batches of ${BATCH}; ${ROUNDS} runs per system, alternating, after a warm-up run of each. Median (min–max) over the runs; a ratio is taskfleet / BullMQ within a pair of adjacent runs.`,
  '- Clock: from the first enqueue to every task durably done (taskfleet: the group’s `wait()` resolved with its results; BullMQ: the last `completed` event).',
  '',
  '### 1. Throughput (tasks per second)',
  '',
  ...table(['', 'plain BullMQ', 'taskfleet', 'taskfleet / BullMQ'], throughputRows),
  `CPU time per task (µs), all processes of the run — on ${availableParallelism()} cores, what bounds throughput:`,
  '',
  ...table(['', 'plain BullMQ', 'taskfleet', 'taskfleet / BullMQ'], cpuRows),
  '### 2. Redis cost per task (µs)',
  '',
  'INFO commandstats counts a script’s inner commands twice (as commands, and inside the script’s time), and EXEC’s commands twice; the target figure counts each once (a command’s time scaled by the share of its calls that clients sent, counted client-side). The plain sum and Redis’s CPU time are shown for comparison.',
  '',
  ...table(['', 'plain BullMQ', 'taskfleet', 'taskfleet / BullMQ'], costRows),
  `Exact breakdown, one run per system with every command logged (SLOWLOG, threshold 0; script calls attributed by digest; rows under 0.05 µs left out), 1 worker process:`,
  '',
  '**taskfleet**',
  '',
  ...breakdown('taskfleet'),
  '**plain BullMQ**',
  '',
  ...breakdown('bullmq'),
  '### Against the targets',
  '',
  ...TARGETED.map(
    (p) =>
      `- Throughput ≥ 0.85× plain BullMQ, ${p} worker process${p > 1 ? 'es' : ''}: ${verdict(tput(p) >= 0.85)} (${tput(p).toFixed(2)}×).`,
  ),
  ...TARGETED.map(
    (p) =>
      `- Redis time per task ≤ 1.3× plain BullMQ, ${p} worker process${p > 1 ? 'es' : ''}: ${verdict(cost(p) <= 1.3)} (${cost(p).toFixed(2)}×).`,
  ),
  ...(PROCESSES.includes(4) ? [collapse()] : []),
].join('\n');
writeSection('groups', body);
console.log(`\n${body}\n`);
await redis.quit();
await server.stop();
