import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { ProgressRate } from '../../monitor/progress-rate.ts';
import { defaults } from '../../shared/defaults.ts';
import { isFinal } from '../../shared/group-protocol/group-state.ts';
import type { Act } from '../command-action.ts';
import type { CliContext } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { settledCount } from '../group-text.ts';
import { ProgressView } from '../progress-view.ts';

export function watchCommand(program: Command, act: Act): void {
  program
    .command('watch')
    .description(
      'follow a group until it ends: a live progress bar with counts, rate and ETA; exits 6 if it failed, 7 if cancelled',
    )
    .argument('<group>', 'group id')
    .action(act(async (ctx, id: string) => watchGroup(ctx, id)));
}

/**
 * Re-reads the group's counts every `watchIntervalMs` (two Redis reads, nothing per task) until it is
 * final. Ctrl-C stops watching (exit 130); the group goes on.
 */
export async function watchGroup(ctx: CliContext, id: string): Promise<ExitCode> {
  const monitor = await ctx.monitor();
  const view = new ProgressView(ctx.out);
  const rate = new ProgressRate();
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    while (true) {
      const status = await monitor.group(id);
      const at = performance.now();
      rate.add(settledCount(status), at);
      if (isFinal(status.state)) {
        view.finish({ status, firstError: await monitor.firstError(status) }, rate);
        if (status.state === 'failed') return ExitCode.GroupFailed;
        if (status.state === 'cancelled') return ExitCode.GroupCancelled;
        return ExitCode.Ok;
      }
      view.update(status, rate, at);
      try {
        await sleep(defaults.watchIntervalMs, undefined, { signal: stop.signal });
      } catch {
        view.interrupt();
        ctx.out.note(`Stopped watching group ${id}; it goes on.`);
        return ExitCode.Interrupted;
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
