import type { GroupClient } from '../producer/group-client.ts';
import { isFinal } from '../shared/group-protocol/group-state.ts';
import type { Logger } from './options.ts';
import type { Reconciler } from './reconciler.ts';

/** What maintenance and the reconciler use of a GroupClient. */
export type GroupStore = Pick<GroupClient, 'redis' | 'keys' | 'scripts'>;

/** Redis time, ms: the `live` zset's scores are Redis times. */
async function redisNow(redis: GroupStore['redis']): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * Periodic work that keeps groups moving with nobody watching them, done by one worker of the queue at a
 * time (a lock that lasts one interval): cancel groups past their deadline, cancel and close groups
 * whose producer stopped renewing its lease, and reconcile groups that made no progress for a while.
 * Groups are looked at when due (the `live` zset), not all at every tick.
 */
export class Maintenance {
  readonly #client: GroupStore;
  readonly #reconciler: Reconciler;
  readonly #intervalMs: number;
  readonly #staleGroupMs: number;
  readonly #owner: string;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(
    client: GroupStore,
    reconciler: Reconciler,
    intervalMs: number,
    staleGroupMs: number,
    owner: string,
    logger: Logger,
  ) {
    this.#client = client;
    this.#reconciler = reconciler;
    this.#intervalMs = intervalMs;
    this.#staleGroupMs = staleGroupMs;
    this.#owner = owner;
    this.#logger = logger;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#ticking ??= this.tick()
        .catch((error: unknown) => this.#logger.warn('maintenance failed; retrying next interval', error))
        .finally(() => {
          this.#ticking = undefined;
        });
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#ticking;
  }

  async tick(): Promise<void> {
    const { redis, keys, scripts } = this.#client;
    const locked = await redis.set(keys.maintenanceLock, this.#owner, 'PX', this.#intervalMs, 'NX');
    if (locked === null) return;
    const due = await scripts.dueGroups(200);
    if (due.length === 0) return;
    const checks = await scripts.check(due, this.#staleGroupMs);
    const pipeline = redis.pipeline();
    // A check that failed says nothing of the group: it stays live (its deadline and lease still need
    // enforcing), and is looked at again staleGroupMs later rather than every tick.
    const failed = checks.filter((check) => check.error !== undefined);
    const retryAt = failed.length > 0 ? (await redisNow(redis)) + this.#staleGroupMs : 0;
    for (const check of checks) {
      if (check.error !== undefined) {
        this.#logger.warn(
          `group ${check.id}: maintenance could not check it; trying again later`,
          check.error,
        );
        pipeline.zadd(keys.live, 'XX', retryAt, check.id);
      } else if (check.state === undefined || isFinal(check.state)) pipeline.zrem(keys.live, check.id);
      else pipeline.zadd(keys.live, 'XX', check.nextCheckAt, check.id);
    }
    await pipeline.exec();
    for (const check of checks) {
      if (check.state !== undefined && !isFinal(check.state) && check.idleMs >= this.#staleGroupMs) {
        const settled = await this.#reconciler.reconcile(check.id);
        if (settled > 0) this.#logger.warn(`group ${check.id}: settled ${settled} lost task(s)`);
      }
    }
  }
}
