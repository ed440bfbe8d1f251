import type { Redis } from 'ioredis';
import type { CommandCost } from './slowlog.ts';

/**
 * Redis's own time for a run, from INFO commandstats, without counting anything twice.
 *
 * commandstats counts a script's inner calls as commands of their own *and* inside the script's time;
 * EXEC's time includes the commands it runs, which are counted too. So a plain sum of `usec` counts
 * script work twice and MULTI work twice. Here each command's time is scaled by the share of its calls
 * that clients sent (counted client-side, see command-counter.ts), and EXEC counts for nothing of its own.
 */
export function topLevelCost(
  stats: ReadonlyMap<string, CommandCost>,
  sent: ReadonlyMap<string, number>,
  ignore: ReadonlySet<string>,
): Map<string, CommandCost> {
  const byCommand = new Map<string, CommandCost>();
  for (const [name, stat] of stats) {
    const command = name.split('|')[0] ?? name;
    if (ignore.has(command) || command === 'exec') continue;
    const total = byCommand.get(command) ?? { calls: 0, usec: 0 };
    total.calls += stat.calls;
    total.usec += stat.usec;
    byCommand.set(command, total);
  }
  const top = new Map<string, CommandCost>();
  for (const [command, total] of byCommand) {
    const direct = Math.min(total.calls, sent.get(command) ?? 0);
    if (direct === 0) continue;
    top.set(command, { calls: direct, usec: (total.usec * direct) / total.calls });
  }
  return top;
}

export function sumUsec(costs: ReadonlyMap<string, CommandCost>): number {
  let usec = 0;
  for (const cost of costs.values()) usec += cost.usec;
  return usec;
}

/** CPU time of Redis's main thread so far, µs (INFO cpu): commands plus parsing, replies and the event loop. */
export async function redisCpuUsec(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread')) * 1e6;
}

export function mergeCounts(into: Map<string, number>, from: Iterable<[string, number]>): void {
  for (const [name, count] of from) into.set(name, (into.get(name) ?? 0) + count);
}
