/**
 * `npm run bench:semaphore`: DistributedSemaphore against redis-semaphore (npm), in the same run, on the
 * same private redis-server. Writes its section of bench/RESULTS.md.
 *
 *   throughput: acquire + release per second, 50 contenders, limit 10, in 1 and in 4 processes; with no
 *               work inside the permit (pure overhead), with 2 ms of work, and with 2 ms of work and
 *               2 ms without the permit before the next acquire (paced)
 *   waits:      how long acquire() takes under that contention (p50, p99): fairness
 *   handoff:    release in one process -> the waiter in another process holds (p50, p99)
 *   commands:   per acquisition, sent by the client (round trips) and run by Redis (scripts' inner ones too)
 *   CPU:        per acquisition, of the contender processes and of Redis's main thread (bare runs)
 * Every figure is the median of the runs (min–max), the implementations alternating run by run.
 */
import { Redis } from 'ioredis';
import { startRedisServer } from '../../infra/redis-server.ts';
import { DistributedSemaphore } from '../../shared/index.ts';
import { BenchChild } from '../lib/bench-child.ts';
import { commandStats, resetStats } from '../lib/command-stats.ts';
import { describeEnvironment } from '../lib/environment.ts';
import { redisCpuUsec } from '../lib/redis-cost.ts';
import { writeSection } from '../lib/results-file.ts';
import { formatSpread, percentile, spread } from '../lib/stats.ts';
import type { Implementation } from './contender.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONTENDERS = 50;
const LIMIT = 10;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
/** Each throughput run's processes first run the same loop this long, unmeasured: steady state, not JIT warm-up. */
const WARM_UP_MS = Number(process.env.BENCH_WARM_UP_MS ?? 500);
const HANDOFFS = Number(process.env.BENCH_HANDOFFS ?? 200);
const WORK_MS = 2;
const CONTENDER = new URL('./contender.ts', import.meta.url);
const IMPLEMENTATIONS: Implementation[] = ['taskfleet', 'redis-semaphore', 'redis-semaphore-1ms'];

interface ThroughputRun {
  readonly perSecond: number;
  readonly acquisitions: number;
  /** Commands the contenders sent (round trips). */
  readonly sent: number;
  /** Samples of how long acquire() took, ms. */
  readonly waits: number[];
  /** Commands Redis ran, scripts' inner commands included. */
  readonly stats: Awaited<ReturnType<typeof commandStats>>;
  /** CPU time per acquisition, µs: the contender processes', and Redis's main thread's. */
  readonly clientCpu: number;
  readonly redisCpu: number;
}

type Series = Record<string, number[]>;

const server = await startRedisServer();
const redis = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
const figures = new Map<Implementation, Series>(IMPLEMENTATIONS.map((impl) => [impl, {}]));
const breakdowns = new Map<Implementation, Map<string, number>>();
const record = (impl: Implementation, name: string, value: number): void => {
  const series = figures.get(impl) as Series;
  series[name] = [...(series[name] ?? []), value];
};

let runs = 0;
async function throughput(
  impl: Implementation,
  processes: number,
  holdMs: number,
  pauseMs = 0,
): Promise<ThroughputRun> {
  const name = `tp-${runs++}`;
  const contenders = await Promise.all(
    Array.from({ length: processes }, () =>
      BenchChild.start(CONTENDER, { url: server.url, impl, name, limit: LIMIT }),
    ),
  );
  const share = (i: number) => Math.floor(CONTENDERS / processes) + (i < CONTENDERS % processes ? 1 : 0);
  const run = (durationMs: number) => {
    contenders.forEach((c, i) => {
      c.send({ op: 'throughput', contenders: share(i), durationMs, holdMs, pauseMs });
    });
    return Promise.all(contenders.map((c) => c.next()));
  };
  if (WARM_UP_MS > 0) await run(WARM_UP_MS);
  await resetStats(redis);
  const redisCpu = await redisCpuUsec(redis);
  const done = await run(DURATION_MS);
  const redisCpuUsed = (await redisCpuUsec(redis)) - redisCpu;
  const stats = await commandStats(redis);
  await Promise.all(contenders.map((c) => c.stop()));
  const acquisitions = done.reduce((sum, m) => sum + Number(m.acquisitions), 0);
  return {
    perSecond: acquisitions / (DURATION_MS / 1000),
    acquisitions,
    sent: done.reduce((sum, m) => sum + Number(m.sent), 0),
    waits: done.flatMap((m) => m.waits as number[]),
    stats,
    clientCpu: done.reduce((sum, m) => sum + Number(m.cpuUsec), 0) / acquisitions,
    redisCpu: redisCpuUsed / acquisitions,
  };
}

async function handoff(impl: Implementation): Promise<number[]> {
  const name = `ho-${runs++}`;
  const pair = await Promise.all(
    [0, 1].map(() => BenchChild.start(CONTENDER, { url: server.url, impl, name, limit: 1 })),
  );
  const [first, second] = pair as [BenchChild, BenchChild];
  const watch = new DistributedSemaphore(redis, name, { prefix: 'bench' });
  first.send({ op: 'hold' });
  await first.next();
  let holder = first;
  let waiter = second;
  const latencies: number[] = [];
  for (let i = 0; i < HANDOFFS; i++) {
    waiter.send({ op: 'wait' });
    await waiter.next(); // 'waiting': acquire() was called
    if (impl === 'taskfleet') {
      while ((await watch.status()).waiters.length === 0) await new Promise((r) => setTimeout(r, 1));
    } else {
      await new Promise((r) => setTimeout(r, 25)); // a poller waits once it has failed an attempt
    }
    holder.send({ op: 'release' });
    const [released, acquired] = await Promise.all([holder.next(), waiter.next()]);
    latencies.push(Number(acquired.at) - Number(released.at));
    [holder, waiter] = [waiter, holder];
  }
  holder.send({ op: 'release' });
  await holder.next();
  await Promise.all(pair.map((c) => c.stop()));
  return latencies;
}

for (let round = 0; round < ROUNDS; round++) {
  // Alternate which implementation goes first, so warm-up and drift favour none.
  const order = round % 2 === 0 ? IMPLEMENTATIONS : [...IMPLEMENTATIONS].reverse();
  for (const impl of order) {
    const bare = await throughput(impl, 1, 0);
    record(impl, 'bare1', bare.perSecond);
    record(impl, 'clientCpu1', bare.clientCpu);
    record(impl, 'redisCpu1', bare.redisCpu);
    let total = 0;
    const breakdown = new Map<string, number>();
    for (const [command, { calls }] of bare.stats) {
      if (command === 'config|resetstat' || command === 'info') continue; // the benchmark's own
      total += calls;
      breakdown.set(command, calls / bare.acquisitions);
    }
    if (round === 0) breakdowns.set(impl, breakdown);
    record(impl, 'commands', total / bare.acquisitions);
    record(impl, 'trips', bare.sent / bare.acquisitions);
    const bare4 = await throughput(impl, 4, 0);
    record(impl, 'bare4', bare4.perSecond);
    record(impl, 'clientCpu4', bare4.clientCpu);
    record(impl, 'redisCpu4', bare4.redisCpu);
    const work1 = await throughput(impl, 1, WORK_MS);
    record(impl, 'work1', work1.perSecond);
    record(impl, 'waitP50', percentile(work1.waits, 50));
    record(impl, 'waitP99', percentile(work1.waits, 99));
    record(impl, 'waitMax', Math.max(...work1.waits));
    record(impl, 'work4', (await throughput(impl, 4, WORK_MS)).perSecond);
    record(impl, 'paced1', (await throughput(impl, 1, WORK_MS, WORK_MS)).perSecond);
    record(impl, 'paced4', (await throughput(impl, 4, WORK_MS, WORK_MS)).perSecond);
    const latencies = await handoff(impl);
    record(impl, 'handoffP50', percentile(latencies, 50));
    record(impl, 'handoffP99', percentile(latencies, 99));
    console.log(
      `round ${round + 1}/${ROUNDS} ${impl}: ${Math.round(bare.perSecond)}/s bare, ${Math.round(work1.perSecond)}/s with work, handoff p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    );
  }
}

const cell = (impl: Implementation, name: string, digits = 0) =>
  formatSpread(spread((figures.get(impl) as Series)[name] ?? []), digits);
const median = (impl: Implementation, name: string) =>
  spread((figures.get(impl) as Series)[name] ?? []).median;
const ratio = (name: string) => (median('taskfleet', name) / median('redis-semaphore', name)).toFixed(2);
const table = (header: string, columns: [string, string, number][]) => [
  `| implementation | ${columns.map(([title]) => title).join(' | ')} |`,
  `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ...IMPLEMENTATIONS.map(
    (impl) => `| ${impl} | ${columns.map(([, name, digits]) => cell(impl, name, digits)).join(' | ')} |`,
  ),
  '',
  header,
];
const breakdown = (impl: Implementation) =>
  [...(breakdowns.get(impl) ?? new Map<string, number>())]
    .filter(([, n]) => n >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n.toFixed(2)}`)
    .join(', ');
const p99 = median('taskfleet', 'handoffP99');

function throughputTarget(): string {
  const names = ['bare1', 'bare4', 'work1', 'work4', 'paced1', 'paced4'];
  const ratios = names.map((name) => Number(ratio(name)));
  const figures = `taskfleet ÷ redis-semaphore = ${ratio('bare1')} (bare, 1 process), ${ratio('bare4')} (bare, 4 processes), ${ratio('work1')} (work, 1 process), ${ratio('work4')} (work, 4 processes), ${ratio('paced1')} (paced, 1 process), ${ratio('paced4')} (paced, 4 processes).`;
  if (Math.min(...ratios) >= 2) return `- Throughput ≥ 2× redis-semaphore's: **met**: ${figures}`;
  const ceiling = (LIMIT * 1000) / WORK_MS;
  const shares = ['work1', 'work4', 'paced1', 'paced4'].map(
    (name) => median('redis-semaphore', name) / ceiling,
  );
  const held = `With work inside the permit no implementation can pass limit ÷ hold time (${ceiling.toLocaleString('en-US')} per second), and redis-semaphore reaches ${Math.round(100 * Math.min(...shares))}–${Math.round(100 * Math.max(...shares))}% of it in the work and paced rows${Math.min(...shares) > 0.5 ? ', so 2× is out of reach there for anyone' : ''}.`;
  const client = median('taskfleet', 'clientCpu1');
  const server = median('taskfleet', 'redisCpu1');
  const serial = 1e6 / (client + server);
  const overlapped = 1e6 / Math.max(client, server);
  const per = (n: number) => Math.round(n).toLocaleString('en-US');
  return `- Throughput ≥ 2× redis-semaphore's: **missed**: ${figures} ${held} With none, every permit changes hands through the FIFO queue: a release grants the head waiter inside Redis, and the waiter's process (told in the script's reply if it is the releasing one, else by a message) releases at once, so each round of grants waits for the one before. A busy instance splits a large batch over several calls (up to four on their way), so that Redis runs one while the process handles another's reply: with ${client.toFixed(1)} + ${server.toFixed(1)} µs of CPU per acquisition here (1 process), that puts the bare loop between ${per(serial)} per second (the two sides taking turns) and ${per(overlapped)} (neither ever idle); it did ${per(median('taskfleet', 'bare1'))}. In 4 processes most grants go to another process: a message, and a wakeup there, per handoff. redis-semaphore's releasing loop mostly takes its permit straight back (no queue to respect), so its round trips overlap and its acquire-wait tail is long. Paced, the releasing loop cannot take its permit back, so a freed permit waits for redis-semaphore's next poll while taskfleet grants it to the head waiter at once: that is where push wakeups show in throughput. What FIFO buys shows in the wait tail and in the handoff.`;
}
const body = [
  '## Semaphore: DistributedSemaphore vs redis-semaphore',
  '',
  ...describeEnvironment(redisVersion).map((line) => `- ${line}`),
  `- ${ROUNDS} runs, the implementations alternating; each throughput run lasts ${DURATION_MS / 1000} s, measured after ${WARM_UP_MS / 1000} s of the same loop in the same processes (steady state, not the JIT's warm-up); ${HANDOFFS} handoffs per run. Median (min–max) over the runs.`,
  `- ${CONTENDERS} contenders (async loops: acquire, hold, release, again) on a limit of ${LIMIT}; "4 processes" splits them over 4 processes. "Bare": nothing done while holding; "work": ${WORK_MS} ms (a timer) while holding; "paced": ${WORK_MS} ms while holding, then ${WORK_MS} ms without the permit before the next acquire (a task that calls a limited API between other work).`,
  '- redis-semaphore polls for a free permit every `retryInterval` (its default, 10 ms); `redis-semaphore-1ms` polls every 1 ms. It is not FIFO and reads the client clock.',
  '',
  '### Throughput (acquire + release per second)',
  '',
  ...table('', [
    ['bare, 1 process', 'bare1', 0],
    ['bare, 4 processes', 'bare4', 0],
    [`${WORK_MS} ms work, 1 process`, 'work1', 0],
    [`${WORK_MS} ms work, 4 processes`, 'work4', 0],
    ['paced, 1 process', 'paced1', 0],
    ['paced, 4 processes', 'paced4', 0],
  ]),
  '### Latency (ms)',
  '',
  ...table(
    `Handoff: one process releases the only permit (limit 1) while another waits, from just before release() to the waiter holding it. Acquire wait: how long acquire() took under the ${WORK_MS} ms-work contention above (a sample of every 10th).`,
    [
      ['handoff p50', 'handoffP50', 2],
      ['handoff p99', 'handoffP99', 2],
      ['acquire wait p50', 'waitP50', 1],
      ['acquire wait p99', 'waitP99', 1],
      ['acquire wait max', 'waitMax', 0],
    ],
  ),
  '### CPU per acquisition (µs, bare)',
  '',
  ...table('', [
    ['clients, 1 process', 'clientCpu1', 1],
    ['Redis, 1 process', 'redisCpu1', 1],
    ['clients, 4 processes', 'clientCpu4', 1],
    ['Redis, 4 processes', 'redisCpu4', 1],
  ]),
  '### Redis commands per acquisition (bare, 1 process)',
  '',
  ...table('', [
    ['sent by the client (round trips)', 'trips', 2],
    ['run by Redis (scripts’ inner commands included)', 'commands', 1],
  ]),
  `taskfleet: ${breakdown('taskfleet')}.`,
  '',
  `redis-semaphore: ${breakdown('redis-semaphore')}.`,
  '',
  '### Against the targets',
  '',
  throughputTarget(),
  `- Handoff p99 ≤ 2 ms: **${p99 <= 2 ? 'met' : 'missed'}** (${p99.toFixed(2)} ms).`,
].join('\n');
writeSection('semaphore', body);
console.log(`\n${body}\n`);
await redis.quit();
await server.stop();
