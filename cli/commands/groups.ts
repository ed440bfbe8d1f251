import type { Command } from 'commander';
import { defaults } from '../../shared/defaults.ts';
import { positiveInteger } from '../arguments.ts';
import type { Act } from '../command-action.ts';
import { GROUP_COLUMNS, groupJson, groupRow } from '../group-text.ts';

export function groupsCommand(program: Command, act: Act): void {
  program
    .command('groups')
    .description('list the most recent groups of the queue, newest first, with their states')
    .option('--limit <n>', 'how many', positiveInteger, defaults.groupsListed)
    .action(
      act(async (ctx, options: { limit: number }) => {
        const monitor = await ctx.monitor();
        const groups = await monitor.groups(options.limit);
        ctx.out.data(groups.map(groupJson));
        if (ctx.out.json) return undefined;
        if (groups.length === 0) {
          ctx.out.line(`No groups on queue ${ctx.options.queue}.`);
          return undefined;
        }
        const now = await monitor.now();
        ctx.out.table(
          GROUP_COLUMNS,
          groups.map((group) => groupRow(ctx.out, group, now)),
        );
        return undefined;
      }),
    );
}
