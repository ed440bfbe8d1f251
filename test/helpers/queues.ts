import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** The suite's Redis (see test/setup/global-redis.ts). */
export function redisUrl(): string {
  return inject('redisUrl');
}

/** A queue name of its own: tests isolate by queue, never by flushing Redis. */
export function uniqueQueue(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
