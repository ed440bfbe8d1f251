import type { Command } from 'commander';
import { defaults } from '../../shared/defaults.ts';
import { duration, portNumber } from '../arguments.ts';
import type { Act } from '../command-action.ts';
import { ExitCode } from '../exit-codes.ts';

interface DashboardCommandOptions {
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly refresh?: number;
}

export function dashboardCommand(program: Command, act: Act): void {
  program
    .command('dashboard')
    .description(
      'a live web dashboard of the queue (groups, tasks, semaphores, workers; bull-board under /queues)',
    )
    .option('--port <port>', 'port (0: any free port)', portNumber, defaults.dashboardPort)
    .option(
      '--host <host>',
      'address to listen on; anything but loopback needs --token',
      defaults.dashboardHost,
    )
    .option(
      '--token <token>',
      'require this token (open /?token=<token> once; scripts: Authorization: Bearer)',
    )
    .option('--refresh <duration>', 'how often open pages get fresh numbers (default 1s)', duration)
    .action(
      act(async (ctx, options: DashboardCommandOptions) => {
        await ctx.monitor(); // Redis answers, or one clear line
        // Loaded here: fastify and bull-board would slow every other command's start.
        const { startDashboard } = await import('../../dashboard/server.ts');
        const dashboard = await startDashboard({
          connection: ctx.options.redis,
          queue: ctx.options.queue,
          prefix: ctx.options.prefix,
          host: options.host,
          port: options.port,
          ...(options.token === undefined ? {} : { token: options.token }),
          ...(options.refresh === undefined ? {} : { refreshMs: options.refresh }),
        });
        ctx.out.data({ event: 'listening', url: dashboard.url, queue: ctx.options.queue });
        ctx.out.line(
          `Dashboard of queue ${ctx.options.queue}: ${dashboard.url}${options.token ? '/?token=…' : ''}`,
        );
        ctx.out.note('Ctrl-C stops it.');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await dashboard.close();
        return ExitCode.Ok;
      }),
    );
}
