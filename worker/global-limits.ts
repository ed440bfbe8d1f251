import type { RedisClient } from '../shared/connection.ts';
import { DistributedSemaphore } from '../shared/semaphore/distributed-semaphore.ts';
import type { Logger } from './options.ts';

/**
 * A worker's fleet-wide semaphores: the named limits it declares (`globalLimits: { 'api.example': 10 }`,
 * the first limit given wins fleet-wide), and the semaphores behind groups' `maxConcurrency`. One
 * DistributedSemaphore per name per process, so all its tasks share one subscription and one heartbeat.
 */
export class GlobalLimits {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #groupPrefix: string;
  readonly #declared: Readonly<Record<string, number>>;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #named = new Map<string, DistributedSemaphore>();
  readonly #groups = new Map<string, DistributedSemaphore>();

  constructor(
    redis: RedisClient,
    prefix: string,
    queue: string,
    declared: Readonly<Record<string, number>>,
    leaseMs: number,
    logger: Logger,
    namedPrefix = prefix,
  ) {
    this.#redis = redis;
    this.#prefix = namedPrefix;
    // Group semaphores live beside their group's keys, apart from named ones.
    this.#groupPrefix = `${prefix}:${queue}:g`;
    this.#declared = declared;
    this.#leaseMs = leaseMs;
    this.#logger = logger;
  }

  /** A named fleet-wide semaphore; `limit` (or the declared one) is set if the semaphore has none yet. */
  semaphore(name: string, limit?: number): DistributedSemaphore {
    let semaphore = this.#named.get(name);
    if (semaphore === undefined) {
      const configured = limit ?? this.#declared[name];
      semaphore = new DistributedSemaphore(this.#redis, name, {
        prefix: this.#prefix,
        leaseMs: this.#leaseMs,
        ...(configured === undefined ? {} : { limit: configured }),
        onLimitMismatch: (stored, wanted) =>
          this.#logger.warn(
            `semaphore \`${name}\`: the fleet's limit is ${stored}, this worker was configured with ${wanted}; ${stored} applies (change it with setLimit)`,
          ),
      });
      this.#named.set(name, semaphore);
    }
    return semaphore;
  }

  /** The semaphore that keeps a group under its maxConcurrency. */
  forGroup(groupId: string, maxConcurrency: number): DistributedSemaphore {
    let semaphore = this.#groups.get(groupId);
    if (semaphore === undefined) {
      semaphore = new DistributedSemaphore(this.#redis, groupId, {
        prefix: this.#groupPrefix,
        leaseMs: this.#leaseMs,
        limit: maxConcurrency,
        idleTtlMs: 24 * 60 * 60 * 1000,
        listed: false,
      });
      this.#groups.set(groupId, semaphore);
    }
    return semaphore;
  }

  /** The named semaphores this worker uses or declares (for its gauges). */
  named(): DistributedSemaphore[] {
    for (const name of Object.keys(this.#declared)) this.semaphore(name);
    return [...this.#named.values()];
  }

  /** Forgets a group's semaphore once nothing here holds or waits on it. */
  releaseGroup(groupId: string): void {
    const semaphore = this.#groups.get(groupId);
    if (semaphore !== undefined && !semaphore.busy) this.#groups.delete(groupId);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#named.values(), ...this.#groups.values()].map((s) => s.close()));
  }
}
