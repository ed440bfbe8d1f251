/**
 * A benchmark process using one semaphore implementation, driven by the parent over IPC:
 *   { op: 'throughput', contenders, durationMs, holdMs, pauseMs } -> { acquisitions, sent, waits, cpuUsec }
 *       (acquire, hold, release, pause, again; `waits` samples how long acquire() took, ms; `cpuUsec` is
 *       this process's CPU time over the run)
 *   { op: 'hold' } -> { type: 'holding' }                              (handoff: take the permit)
 *   { op: 'wait' } -> { type: 'waiting' } then { type: 'acquired', at } (handoff: queue for it)
 *   { op: 'release' } -> { type: 'released', at }                       (handoff: give it up; `at` before the call)
 * Times are absolute (performance.timeOrigin + now): processes on one machine share the clock.
 */
import { Redis } from 'ioredis';
import { Semaphore as RedisSemaphore } from 'redis-semaphore';
import { DistributedSemaphore } from '../../shared/index.ts';
import { benchConfig, now, reply } from '../lib/bench-child.ts';

export type Implementation = 'taskfleet' | 'redis-semaphore' | 'redis-semaphore-1ms';

interface Config {
  readonly url: string;
  readonly impl: Implementation;
  readonly name: string;
  readonly limit: number;
}

interface Lock {
  acquire(): Promise<void>;
  release(): Promise<void>;
}

const config = benchConfig<Config>();
const redis = new Redis(config.url);
// Counts the commands this process sends (round trips; a script is one).
let sent = 0;
const sendCommand = redis.sendCommand.bind(redis);
redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
  sent++;
  return sendCommand(...args);
}) as Redis['sendCommand'];
const taskfleet = new DistributedSemaphore(redis, config.name, { limit: config.limit, prefix: 'bench' });

/** One holder's view of a semaphore, whichever the implementation. */
function lock(): Lock {
  if (config.impl === 'taskfleet') {
    let permit: Awaited<ReturnType<DistributedSemaphore['acquire']>> | undefined;
    return {
      acquire: async () => {
        permit = await taskfleet.acquire();
      },
      release: async () => {
        await permit?.release();
      },
    };
  }
  const semaphore = new RedisSemaphore(redis, `bench:rs:${config.name}`, config.limit, {
    acquireTimeout: 600_000,
    lockTimeout: 30_000,
    retryInterval: config.impl === 'redis-semaphore-1ms' ? 1 : 10, // 10 ms is redis-semaphore's default
  });
  return { acquire: () => semaphore.acquire(), release: () => semaphore.release() };
}

let held: Lock | undefined;

interface Command {
  readonly op: string;
  readonly contenders?: number;
  readonly durationMs?: number;
  /** Work done while holding the permit (a timer), ms. */
  readonly holdMs?: number;
  /** Time spent without the permit before asking again (a timer), ms. */
  readonly pauseMs?: number;
}

process.on('message', (message: Command) => {
  void handle(message).catch((error: unknown) => reply({ type: 'error', message: String(error) }));
});
reply({ type: 'ready' });

async function handle(message: Command): Promise<void> {
  switch (message.op) {
    case 'throughput': {
      const until = now() + (message.durationMs ?? 1000);
      let acquisitions = 0;
      sent = 0;
      const waits: number[] = [];
      const cpu = process.cpuUsage();
      await Promise.all(
        Array.from({ length: message.contenders ?? 1 }, async () => {
          const mine = lock();
          while (now() < until) {
            const asked = now();
            await mine.acquire();
            // Every 10th wait is enough for percentiles, and keeps the message small.
            if (acquisitions % 10 === 0) waits.push(now() - asked);
            acquisitions++;
            if (message.holdMs) await new Promise((resolve) => setTimeout(resolve, message.holdMs));
            await mine.release();
            if (message.pauseMs) await new Promise((resolve) => setTimeout(resolve, message.pauseMs));
          }
        }),
      );
      const used = process.cpuUsage(cpu);
      reply({ type: 'done', acquisitions, sent, waits, cpuUsec: used.user + used.system });
      break;
    }
    case 'hold':
      held = lock();
      await held.acquire();
      reply({ type: 'holding' });
      break;
    case 'wait': {
      const mine = lock();
      const acquired = mine.acquire().then(() => {
        const at = now();
        held = mine;
        reply({ type: 'acquired', at });
      });
      reply({ type: 'waiting' });
      await acquired;
      break;
    }
    case 'release': {
      const at = now();
      await held?.release();
      held = undefined;
      reply({ type: 'released', at });
      break;
    }
    case 'exit':
      await redis.quit();
      process.exit(0);
  }
}
