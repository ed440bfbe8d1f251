import type { Redis } from 'ioredis';

/** Calls per command since the last reset, from INFO commandstats (scripts' inner commands included). */
export async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) stats.set(match[1] ?? '', { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

export async function resetStats(redis: Redis): Promise<void> {
  await redis.config('RESETSTAT');
}
