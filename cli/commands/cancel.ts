import type { Command } from 'commander';
import { isActive } from '../../shared/group-protocol/group-state.ts';
import type { Act } from '../command-action.ts';

export function cancelCommand(program: Command, act: Act): void {
  program
    .command('cancel')
    .description(
      'cancel a group on every worker: queued tasks never start, running ones see ctx.signal abort',
    )
    .argument('<group>', 'group id')
    .option('--reason <text>', 'why, as running tasks and `status` will see it', 'cancelled from the CLI')
    .action(
      act(async (ctx, id: string, options: { reason: string }) => {
        const monitor = await ctx.monitor();
        const before = await monitor.group(id);
        const state = await monitor.cancel(id, options.reason);
        // A group already stopping or final is left as it is; cancelling it again is not an error.
        const cancelled = isActive(before.state) && (state === 'cancelling' || state === 'cancelled');
        ctx.out.data({ id, cancelled, state });
        if (cancelled) ctx.out.line(`Cancelled group ${id}: it is ${state}.`);
        else ctx.out.line(`Group ${id} is already ${state}: nothing to cancel.`);
        return undefined;
      }),
    );
}
