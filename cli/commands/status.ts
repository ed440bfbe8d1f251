import type { Command } from 'commander';
import type { Act } from '../command-action.ts';
import { groupJson, printGroup } from '../group-text.ts';

export function statusCommand(program: Command, act: Act): void {
  program
    .command('status')
    .description("show a group's state, counts, age, cancel reason and first error")
    .argument('<group>', 'group id')
    .action(
      act(async (ctx, id: string) => {
        const monitor = await ctx.monitor();
        const status = await monitor.group(id);
        const summary = { status, firstError: await monitor.firstError(status) };
        ctx.out.data(groupJson(summary));
        if (!ctx.out.json) printGroup(ctx.out, summary, await monitor.now());
        return undefined;
      }),
    );
}
