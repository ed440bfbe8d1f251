import type { Redis } from 'ioredis';
import { chaosKeys } from '../fleet/chaos-tasks.ts';

/** Per task index: the pids of the processes that started it, and of those that completed it. */
export interface GroupRuns {
  readonly starts: ReadonlyMap<number, readonly number[]>;
  readonly completions: ReadonlyMap<number, readonly number[]>;
}

/** Reads what the `work` tasks of a group recorded (test/fleet/chaos-tasks.ts). */
export async function readGroupRuns(redis: Redis, keysPrefix: string, groupId: string): Promise<GroupRuns> {
  const keys = chaosKeys(keysPrefix, groupId);
  const [starts, completions] = await Promise.all([
    redis.smembers(keys.starts),
    redis.smembers(keys.completions),
  ]);
  return { starts: byIndex(starts), completions: byIndex(completions) };
}

function byIndex(entries: readonly string[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of entries) {
    const [index, pid] = entry.split(' ').map(Number) as [number, number];
    map.set(index, [...(map.get(index) ?? []), pid]);
  }
  return map;
}

/**
 * Indexes run (or completed) more than once where no earlier run was on a killed process: what
 * at-least-once execution does not excuse. Empty when every repeat is explained by a kill.
 */
export function unexplainedRepeats(
  runs: ReadonlyMap<number, readonly number[]>,
  killed: ReadonlySet<number>,
): number[] {
  const repeats: number[] = [];
  for (const [index, pids] of runs) {
    if (pids.length > 1 && pids.filter((pid) => killed.has(pid)).length < pids.length - 1)
      repeats.push(index);
  }
  return repeats;
}
