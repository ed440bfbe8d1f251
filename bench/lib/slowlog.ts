import type { Redis } from 'ioredis';

export interface CommandCost {
  calls: number;
  usec: number;
}

/**
 * Logs every command Redis runs, with its duration (SLOWLOG with a 0 µs threshold), so one run can be
 * broken down exactly: commands a client sent, scripts by name, and no time counted twice (a
 * script's inner calls come from the Lua client, `?:0`, and are left out; EXEC is not logged).
 */
export async function recordEverything(redis: Redis, maxEntries: number): Promise<void> {
  await redis.config('SET', 'slowlog-max-len', String(maxEntries));
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  await redis.slowlog('RESET');
}

/** Top-level cost by command (scripts by name), then the slowlog back to Redis's defaults. */
export async function readEverything(
  redis: Redis,
  scriptNames: ReadonlyMap<string, string>,
  ignore: ReadonlySet<string>,
): Promise<Map<string, CommandCost>> {
  await redis.config('SET', 'slowlog-log-slower-than', '10000');
  const entries = (await redis.slowlog('GET', '-1')) as [number, number, number, string[], string, string][];
  await redis.slowlog('RESET');
  await redis.config('SET', 'slowlog-max-len', '128');
  const costs = new Map<string, CommandCost>();
  for (const [, , usec, args, client] of entries) {
    if (client.startsWith('?')) continue; // called by a script
    const command = (args[0] ?? '').toLowerCase();
    if (ignore.has(command)) continue;
    const name =
      command === 'evalsha'
        ? (scriptNames.get(args[1] ?? '') ?? `script ${(args[1] ?? '').slice(0, 8)}`)
        : command;
    const cost = costs.get(name) ?? { calls: 0, usec: 0 };
    cost.calls++;
    cost.usec += usec;
    costs.set(name, cost);
  }
  return costs;
}
