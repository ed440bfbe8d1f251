import type { Permit } from '../shared/semaphore/distributed-semaphore.ts';

/**
 * The fleet-wide permits one task attempt holds (its group's turn, its declared limits, what it took
 * with ctx.semaphore). A lost lease aborts the task (ctx.signal, with PermitLostError): it can no longer
 * count on the limit. Whatever is still held when the attempt ends is released, success or not.
 */
export class AttemptPermits {
  readonly #controller: AbortController;
  readonly #permits: Permit[] = [];

  constructor(controller: AbortController) {
    this.#controller = controller;
  }

  get held(): number {
    return this.#permits.length;
  }

  add(permit: Permit): Permit {
    this.#permits.push(permit);
    const onLost = (): void => this.#controller.abort(permit.lost.reason);
    if (permit.lost.aborted) onLost();
    else permit.lost.addEventListener('abort', onLost, { once: true });
    return permit;
  }

  async releaseAll(): Promise<void> {
    await Promise.all(this.#permits.map((permit) => permit.release().catch(() => false)));
    this.#permits.length = 0;
  }
}
