import type { Command } from 'commander';
import { formatDuration, truncate } from '../../monitor/format.ts';
import type { Act } from '../command-action.ts';

export function workersCommand(program: Command, act: Act): void {
  program
    .command('workers')
    .description(
      'live workers of the queue, from their heartbeats (a dead worker drops off after 3 missed beats)',
    )
    .action(
      act(async (ctx) => {
        const workers = await (await ctx.monitor()).workers();
        ctx.out.data(workers);
        if (ctx.out.json) return undefined;
        if (workers.length === 0) {
          ctx.out.line(`No live workers on queue ${ctx.options.queue}.`);
          return undefined;
        }
        const now = Date.now();
        ctx.out.table(
          [
            'HOST',
            'PID',
            'QUEUE',
            'STATE',
            'CONCURRENCY',
            'ACTIVE',
            'RUNNING',
            'LAST BEAT',
            'UP',
            'RUNNING TASKS',
          ],
          workers.map((w) => [
            w.host,
            String(w.pid),
            w.queue,
            w.state,
            String(w.concurrency),
            String(w.active),
            String(w.runningCount),
            `${formatDuration(w.lastBeatMsAgo)} ago`,
            // The worker's own clock: uptime is only as right as the two clocks agree.
            formatDuration(now - w.startedAt),
            truncate(w.running.join(' '), 60),
          ]),
        );
        return undefined;
      }),
    );
}
