import type { GroupIncarnation, GroupScripts } from '../shared/group-protocol/group-scripts.ts';

/**
 * Keeps the producer lease of every group this process opened and has not closed yet. If the process
 * dies, the leases run out and worker maintenance cancels those groups (reason `producer-lost`), so no
 * group waits forever for a close that will never come.
 */
export class LeaseKeeper {
  readonly #scripts: GroupScripts;
  readonly #leaseMs: number;
  /**
   * By incarnation (`<id>.<epoch>`), not by id: an id is used again once its group expired, and an
   * earlier incarnation's handle may still be open here. Its renewals must not keep the new group alive
   * (Redis compares the epoch), and closing it must not stop the new group's renewals.
   */
  readonly #groups = new Map<string, GroupIncarnation>();
  #timer: NodeJS.Timeout | undefined;

  constructor(scripts: GroupScripts, leaseMs: number) {
    this.#scripts = scripts;
    this.#leaseMs = leaseMs;
  }

  add(group: GroupIncarnation): void {
    this.#groups.set(keyOf(group), { id: group.id, epoch: group.epoch });
    if (this.#timer !== undefined) return;
    // Three renewals per lease: one late renewal (a GC pause, a slow Redis) does not lose the group.
    this.#timer = setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  remove(group: GroupIncarnation): void {
    this.#groups.delete(keyOf(group));
    if (this.#groups.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    // A failed renewal is retried at the next tick; the lease has room for two misses.
    await this.#scripts.renewLeases([...this.#groups.values()], this.#leaseMs).catch(() => undefined);
  }
}

/** An epoch never contains a dot (see newEpoch). */
function keyOf(group: GroupIncarnation): string {
  return `${group.id}.${group.epoch}`;
}
