import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startRedisServer } from '../../infra/redis-server.ts';
import { Producer } from '../../producer/producer.ts';
import { RedisUnreachableError } from '../../shared/errors.ts';
import { redactUrl } from '../../shared/redact.ts';
import { siblingModule } from '../../shared/sibling-module.ts';
import type { Act } from '../command-action.ts';
import { runDemoScenario } from '../demo/scenario.ts';
import { startCliWorker, stopCliWorker } from '../demo/worker-process.ts';

const DEMO_TASKS = fileURLToPath(siblingModule('../demo/tasks', import.meta.url));

export function demoCommand(program: Command, act: Act): void {
  program
    .command('demo')
    .description(
      'two worker processes and two groups: one succeeds, one fails and cancels its siblings; starts a private redis-server unless --redis or REDIS_URL is given',
    )
    .action(
      act(async (ctx) => {
        const { out } = ctx;
        // No Redis given: a private redis-server on a free port, gone when the demo ends.
        const server = ctx.options.redisGiven ? undefined : await startPrivateRedis();
        if (server !== undefined) ctx.onClose(() => server.stop());
        const redis = server?.url ?? ctx.options.redis;
        const queue = ctx.options.queueGiven ? ctx.options.queue : `demo-${process.pid}`;
        const { prefix } = ctx.options;
        out.line(
          server ? `Started a private redis-server at ${redis}` : `Using Redis at ${redactUrl(redis)}`,
        );
        if (server === undefined) await ctx.monitor(); // reachable, or one clear line

        const print = (line: string): void => (out.json ? out.note(line) : out.line(line));
        const options = { redis, queue, prefix, tasks: DEMO_TASKS, concurrency: 3 };
        const workers = await Promise.all([startCliWorker(options, print), startCliWorker(options, print)]);
        ctx.onClose(async () => {
          await Promise.all(workers.map(stopCliWorker));
        });
        out.line(`Started 2 worker processes (taskfleet worker): ${workers.map((w) => w.pid).join(', ')}\n`);

        const producer = new Producer({ connection: redis, queue, prefix });
        ctx.onClose(() => producer.close());
        const report = await runDemoScenario(producer, out);
        out.data({ redis: redactUrl(redis), queue, ...report });
        out.line('\nDone.');
        return undefined;
      }),
    );
}

async function startPrivateRedis(): Promise<Awaited<ReturnType<typeof startRedisServer>>> {
  try {
    return await startRedisServer();
  } catch (error) {
    const why = `${(error as Error).message.split('\n')[0]}; or point the demo at a Redis with --redis or REDIS_URL`;
    throw new RedisUnreachableError('a private redis-server', why);
  }
}
