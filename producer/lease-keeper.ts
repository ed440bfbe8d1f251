import type { GroupScripts } from '../shared/group-protocol/group-scripts.ts';

/**
 * Keeps the producer lease of every group this process opened and has not closed yet. If the process
 * dies, the leases run out and worker maintenance cancels those groups (reason `producer-lost`), so no
 * group waits forever for a close that will never come.
 */
export class LeaseKeeper {
  readonly #scripts: GroupScripts;
  readonly #leaseMs: number;
  /**
   * Open groups per id. Usually one; an id is used again once its group expired, and the earlier
   * incarnation's handle may still be open here: closing that one must not stop the new one's lease.
   */
  readonly #ids = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(scripts: GroupScripts, leaseMs: number) {
    this.#scripts = scripts;
    this.#leaseMs = leaseMs;
  }

  add(groupId: string): void {
    this.#ids.set(groupId, (this.#ids.get(groupId) ?? 0) + 1);
    if (this.#timer !== undefined) return;
    // Three renewals per lease: one late renewal (a GC pause, a slow Redis) does not lose the group.
    this.#timer = setInterval(() => void this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  remove(groupId: string): void {
    const open = (this.#ids.get(groupId) ?? 0) - 1;
    if (open > 0) this.#ids.set(groupId, open);
    else this.#ids.delete(groupId);
    if (this.#ids.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    // A failed renewal is retried at the next tick; the lease has room for two misses.
    await this.#scripts.renewLeases([...this.#ids.keys()], this.#leaseMs).catch(() => undefined);
  }
}
