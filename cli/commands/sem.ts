import type { Command } from 'commander';
import { formatDuration } from '../../monitor/format.ts';
import type { SemaphoreStatus } from '../../shared/semaphore/distributed-semaphore.ts';
import { positiveInteger } from '../arguments.ts';
import type { Act } from '../command-action.ts';
import type { Output } from '../output.ts';

export function semCommand(program: Command, act: Act): void {
  const sem = program
    .command('sem')
    .description('fleet-wide semaphores (DistributedSemaphore): list, inspect, change a limit');

  sem
    .command('ls')
    .description('every named semaphore: limit, permits in use, holders, waiters')
    .action(
      act(async (ctx) => {
        const semaphores = await (await ctx.monitor()).semaphores();
        ctx.out.data(semaphores);
        if (ctx.out.json) return undefined;
        if (semaphores.length === 0) {
          ctx.out.line(`No semaphores under prefix ${ctx.options.prefix}.`);
          return undefined;
        }
        ctx.out.table(
          ['NAME', 'LIMIT', 'USED', 'HOLDERS', 'WAITERS', 'LONGEST WAIT NOW'],
          semaphores.map((s) => [
            s.name,
            s.limit === 0 ? '—' : String(s.limit),
            String(s.used),
            String(s.holders.length),
            String(s.waiters.length),
            s.waiters.length === 0 ? '' : formatDuration(s.now - Math.min(...s.waiters.map((w) => w.since))),
          ]),
        );
        return undefined;
      }),
    );

  sem
    .command('show')
    .description('one semaphore: its holders (who, since when, lease expiry) and its waiters in order')
    .argument('<name>', 'semaphore name')
    .action(
      act(async (ctx, name: string) => {
        const status = await (await ctx.monitor()).semaphore(name);
        ctx.out.data(status);
        if (!ctx.out.json) printSemaphore(ctx.out, status);
        return undefined;
      }),
    );

  sem
    .command('set-limit')
    .description('change the limit for the whole fleet, at once (raising it serves waiters now)')
    .argument('<name>', 'semaphore name')
    .argument('<n>', 'the new limit', positiveInteger)
    .action(
      act(async (ctx, name: string, limit: number) => {
        const { previous } = await (await ctx.monitor()).setLimit(name, limit);
        ctx.out.data({ name, limit, previous: previous === 0 ? null : previous });
        ctx.out.line(`Semaphore ${name}: limit ${previous === 0 ? 'none' : previous} -> ${limit}.`);
        return undefined;
      }),
    );
}

function printSemaphore(out: Output, s: SemaphoreStatus): void {
  out.line(`${out.paint('bold', 'semaphore')}  ${s.name}`);
  out.line(`${out.paint('bold', 'limit')}      ${s.limit === 0 ? 'none set' : s.limit}, ${s.used} in use`);
  out.line(`${out.paint('bold', 'tokens')}     last fencing token ${s.lastToken}`);
  const { count, totalMs, maxMs } = s.waits;
  out.line(
    `${out.paint('bold', 'waits')}      ${count === 0 ? 'no grant has had to wait' : `${count} grants waited: mean ${formatDuration(totalMs / count)}, longest ${formatDuration(maxMs)}`}`,
  );
  out.line();
  out.line(out.paint('bold', `Holders (${s.holders.length})`));
  if (s.holders.length > 0) {
    out.table(
      ['OWNER', 'PERMITS', 'TOKEN', 'HELD FOR', 'LEASE EXPIRES IN'],
      s.holders.map((h) => [
        h.owner,
        String(h.permits),
        String(h.token),
        formatDuration(s.now - h.since),
        formatDuration(h.expiresAt - s.now),
      ]),
    );
  }
  out.line();
  out.line(out.paint('bold', `Waiters, in the order they will be served (${s.waiters.length})`));
  if (s.waiters.length > 0) {
    out.table(
      ['#', 'OWNER', 'PERMITS', 'WAITING FOR'],
      s.waiters.map((w, k) => [String(k + 1), w.owner, String(w.permits), formatDuration(s.now - w.since)]),
    );
  }
}
