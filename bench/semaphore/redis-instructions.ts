/**
 * `npm run bench:semaphore-instructions`: how many CPU instructions Redis runs per acquisition of a
 * DistributedSemaphore, counted by valgrind's callgrind on a private redis-server. Wall-clock figures on
 * a shared 2-core VM move by 10–20% from run to run; an instruction count repeats within about 1%,
 * so it shows what a change to the Lua scripts costs or saves. Writes its section of
 * bench/RESULTS.md; skipped (nothing written) where valgrind is not installed.
 *
 * The load is the semaphore benchmark's bare one-process loop: 50 contenders on a limit of 10, each
 * acquiring and releasing at once. redis-semaphore is not counted here: it polls on a timer, and under
 * valgrind (Redis some 50 times slower) its polls would be a different share of the work than at speed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../infra/free-port.ts';
import { findRedisServer } from '../../infra/redis-server.ts';
import { DistributedSemaphore } from '../../shared/index.ts';
import { commandStats, resetStats } from '../lib/command-stats.ts';
import { describeEnvironment } from '../lib/environment.ts';
import { table } from '../lib/markdown.ts';
import { writeSection } from '../lib/results-file.ts';

const ACQUISITIONS = Number(process.env.BENCH_INSTRUCTION_ACQUISITIONS ?? 10_000);
const WARM_UP = 300;
const CONTENDERS = 50;
const LIMIT = 10;

const has = (command: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const redisServer = findRedisServer();
if (!has('valgrind') || !has('callgrind_control') || redisServer === undefined) {
  console.log('semaphore instructions: skipped (needs valgrind with callgrind, and redis-server)');
} else {
  await measure(redisServer);
}

async function measure(redisServer: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'taskfleet-callgrind-'));
  const port = await freePort();
  const server = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'callgrind.out')}`, redisServer].concat([
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ]),
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await ready(server);
  // No reconnecting: the server is shut down at the end.
  const redis = new Redis({ port, host: '127.0.0.1', retryStrategy: () => null });
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
    const semaphore = new DistributedSemaphore(redis, 'instructions', { limit: LIMIT, prefix: 'bench' });
    await loop(semaphore, WARM_UP);
    await resetStats(redis);
    callgrind(server.pid, '--zero');
    const done = await loop(semaphore, ACQUISITIONS);
    callgrind(server.pid, '--dump');
    const stats = await commandStats(redis);
    await semaphore.close();
    const scripts = stats.get('evalsha')?.calls ?? 0;
    const instructions = await dumpedInstructions(dir);
    const perAcquisition = instructions / done;
    console.log(
      `semaphore instructions: ${Math.round(perAcquisition)} per acquisition (${done} acquisitions)`,
    );
    writeSection(
      'semaphore-instructions',
      [
        '## Semaphore: Redis instructions per acquisition',
        '',
        ...describeEnvironment(redisVersion).map((line) => `- ${line}`),
        `- valgrind's callgrind counts the instructions redis-server runs (all of them: network, parsing, Lua) while one process makes ${done.toLocaleString('en-US')} acquisitions, after ${WARM_UP} to warm up: ${CONTENDERS} contenders on a limit of ${LIMIT}, acquiring and releasing at once (the bare one-process loop of the semaphore benchmark). One run: the count repeats within about 1% (two runs of the same code: 105,591 and 104,980), where wall-clock figures on this VM vary by 10–20%.`,
        '',
        ...table(
          ['', 'per acquisition'],
          [
            ['Redis instructions', Math.round(perAcquisition).toLocaleString('en-US')],
            [
              'script calls (acquisitions per call)',
              `${(scripts / done).toFixed(3)} (${(done / scripts).toFixed(1)})`,
            ],
          ],
        ),
      ].join('\n'),
    );
  } finally {
    await redis.shutdown('NOSAVE').catch(() => undefined);
    redis.disconnect();
    if (server.exitCode === null) await once(server, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves when redis-server logs that it accepts connections (valgrind makes its start slow). */
async function ready(server: ChildProcess): Promise<void> {
  let log = '';
  const exited = once(server, 'exit').then(([code]) => {
    throw new Error(`redis-server under valgrind exited (${code}) before it was ready: ${log}`);
  });
  const accepting = new Promise<void>((resolve) => {
    server.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Ready to accept connections')) resolve();
    });
  });
  await Promise.race([accepting, exited]);
  exited.catch(() => undefined);
}

/** Acquire-and-release loops until `count` acquisitions are made; returns how many were made. */
async function loop(semaphore: DistributedSemaphore, count: number): Promise<number> {
  let made = 0;
  await Promise.all(
    Array.from({ length: CONTENDERS }, async () => {
      while (made < count) {
        const permit = await semaphore.acquire();
        made++;
        await permit.release();
      }
    }),
  );
  return made;
}

function callgrind(pid: number | undefined, action: '--zero' | '--dump'): void {
  execFileSync('callgrind_control', [action, String(pid)], { stdio: 'ignore' });
}

/** Instructions in the dump `--dump` wrote (the first numbered file: the costs since `--zero`). */
async function dumpedInstructions(dir: string): Promise<number> {
  const dumps = (await readdir(dir)).filter((file) => /^callgrind\.out\.\d+$/.test(file)).sort();
  const first = dumps[0];
  if (first === undefined) throw new Error(`no callgrind dump in ${dir}`);
  const text = await readFile(join(dir, first), 'utf8');
  const totals = /^(?:totals|summary): (\d+)/m.exec(text);
  if (totals === null) throw new Error(`no totals line in ${first}`);
  return Number(totals[1]);
}
