/**
 * `npm run bench:cancel`: how fast a failure stops a group's running siblings on other processes.
 *
 * GROUPS groups, one after the other, on 2 worker processes: each has one `fail` task and SIBLINGS `hold`
 * tasks that wait on ctx.signal. Once all of them run, the `fail` task is told to throw. Measured, with
 * one clock (processes on one machine share it):
 *   - failure -> each sibling's ctx.signal abort, for siblings on the other process (the target) and on
 *     the failing task's own process;
 *   - failure -> the producer's wait() rejecting: the group settled (every sibling ended and recorded).
 * Figures are the median (min–max) over ROUNDS runs of each run's percentile.
 */
import { Redis } from 'ioredis';
import { startRedisServer } from '../../infra/redis-server.ts';
import { Producer } from '../../producer/index.ts';
import { type BenchChild, type Message, now } from '../lib/bench-child.ts';
import { describeEnvironment } from '../lib/environment.ts';
import { table, verdict } from '../lib/markdown.ts';
import { writeSection } from '../lib/results-file.ts';
import { formatSpread, percentile, spread } from '../lib/stats.ts';
import { BenchWorkers } from './bench-workers.ts';

const GROUPS = Number(process.env.BENCH_GROUPS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIBLINGS = 4;

interface Tracked {
  started: number;
  allStarted: () => void;
  failer: BenchChild | undefined;
  failedAt: number;
  aborted: { at: number; child: BenchChild }[];
  allAborted: () => void;
}

const server = await startRedisServer();
const redis = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
const tracked = new Map<string, Tracked>();

function onMessage(child: BenchChild, m: Message): void {
  const group = tracked.get(m.group as string);
  if (group === undefined) return;
  if (m.type === 'started') {
    if (m.fail === true) group.failer = child;
    if (++group.started === SIBLINGS + 1) group.allStarted();
  } else if (m.type === 'failed') group.failedAt = m.at as number;
  else if (m.type === 'aborted') {
    group.aborted.push({ at: m.at as number, child });
    if (group.aborted.length === SIBLINGS) group.allAborted();
  }
}

interface Round {
  readonly otherProcess: number[];
  readonly sameProcess: number[];
  readonly settle: number[];
}

async function round(index: number): Promise<Round> {
  const queue = `cancel-${index}`;
  const workers = await BenchWorkers.start(
    { url: server.url, kind: 'taskfleet', queue, concurrency: 20 },
    2,
    onMessage,
  );
  const producer = new Producer({ connection: server.url, queue, prefix: 'bench' });
  await producer.ready();
  const result: Round = { otherProcess: [], sameProcess: [], settle: [] };
  for (let g = 0; g < GROUPS; g++) {
    const tg = producer.taskGroup({ name: 'cancel-bench' });
    let allStarted = (): void => undefined;
    let allAborted = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    const aborted = new Promise<void>((resolve) => {
      allAborted = resolve;
    });
    const group: Tracked = {
      started: 0,
      allStarted,
      failer: undefined,
      failedAt: 0,
      aborted: [],
      allAborted,
    };
    tracked.set(tg.id, group);
    tg.createTask('fail');
    for (let s = 0; s < SIBLINGS; s++) tg.createTask('hold');
    const settled = tg.wait().then(
      () => {
        throw new Error('the group should have failed');
      },
      () => now(),
    );
    await started;
    group.failer?.send({ op: 'fail', group: tg.id });
    const settledAt = await settled;
    await aborted;
    for (const { at, child } of group.aborted) {
      (child === group.failer ? result.sameProcess : result.otherProcess).push(at - group.failedAt);
    }
    result.settle.push(settledAt - group.failedAt);
    tracked.delete(tg.id);
  }
  await producer.close();
  await workers.stop();
  await redis.flushall();
  return result;
}

const rounds: Round[] = [];
await round(-1); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  rounds.push(await round(r));
  const last = rounds.at(-1) as Round;
  console.log(
    `run ${r + 1}: abort p99 ${percentile(last.otherProcess, 99).toFixed(2)} ms (other process, ${last.otherProcess.length} samples), settle p99 ${percentile(last.settle, 99).toFixed(2)} ms`,
  );
}

const row = (label: string, pick: (r: Round) => number[]) => [
  label,
  String(Math.round(spread(rounds.map((r) => pick(r).length)).median)),
  ...[50, 99].map((p) => formatSpread(spread(rounds.map((r) => percentile(pick(r), p))), 2)),
  formatSpread(spread(rounds.map((r) => Math.max(...pick(r)))), 2),
];
const p99 = spread(rounds.map((r) => percentile(r.otherProcess, 99))).median;
const body = [
  '## Cancellation latency',
  '',
  ...describeEnvironment(redisVersion).map((line) => `- ${line}`),
  `- ${GROUPS} groups per run, one at a time, on 2 worker processes; each has 1 task that fails and ${SIBLINGS} running siblings waiting on \`ctx.signal\`. ${ROUNDS} runs after a warm-up run; each figure is the median (min–max) over the runs of that run’s percentile, in ms.`,
  '- From the failing task’s throw (its clock) to each sibling’s abort listener running (the sibling’s clock; one machine, one clock), and to the producer’s `wait()` rejecting: the group settled, every sibling ended and recorded.',
  '',
  ...table(
    ['', 'samples per run', 'p50', 'p99', 'max'],
    [
      row('failure → abort, sibling on another process', (r) => r.otherProcess),
      row('failure → abort, sibling on the same process', (r) => r.sameProcess),
      row('failure → group settled (producer)', (r) => r.settle),
    ],
  ),
  '### Against the target',
  '',
  `- Abort p99 ≤ 10 ms on loopback, siblings on another process: ${verdict(p99 <= 10)} (${p99.toFixed(2)} ms).`,
].join('\n');
writeSection('cancellation', body);
console.log(`\n${body}\n`);
await redis.quit();
await server.stop();
