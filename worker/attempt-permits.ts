import { cancelReason } from '../shared/cancel-reason.ts';
import { TaskCancelledError } from '../shared/errors.ts';
import type { Permit } from '../shared/semaphore/distributed-semaphore.ts';

/**
 * The fleet-wide permits one task attempt holds (its group's turn, its declared limits, what it took
 * with ctx.semaphore). A lost lease aborts the task (ctx.signal, with PermitLostError): it can no longer
 * count on the limit. Whatever is still held when the attempt ends is released, success or not.
 */
export class AttemptPermits {
  readonly #controller: AbortController;
  readonly #permits: Permit[] = [];
  /**
   * Aborts when the attempt ends: an acquire still waiting then (a handler that did not await it)
   * leaves the queue. Made on first use: most tasks never call ctx.semaphore.
   */
  #ended: AbortController | undefined;
  #done = false;

  constructor(controller: AbortController) {
    this.#controller = controller;
  }

  get held(): number {
    return this.#permits.length;
  }

  /** For ctx.semaphore's acquire, beside ctx.signal. */
  get ended(): AbortSignal {
    this.#ended ??= new AbortController();
    if (this.#done) this.#ended.abort(endedError());
    return this.#ended.signal;
  }

  /**
   * A permit granted as the attempt ended is released at once: nothing would release it later, and its
   * lease would be renewed for as long as the process lives.
   */
  add(permit: Permit): Permit {
    if (this.#done) {
      void permit.release().catch(() => false);
      throw endedError();
    }
    this.#permits.push(permit);
    const onLost = (): void => this.#controller.abort(permit.lost.reason);
    if (permit.lost.aborted) onLost();
    else permit.lost.addEventListener('abort', onLost, { once: true });
    return permit;
  }

  /** The attempt ended: releases what it holds (a promise only if it holds something). */
  end(): Promise<void> | undefined {
    this.#done = true;
    this.#ended?.abort(endedError());
    if (this.#permits.length === 0) return undefined;
    const permits = this.#permits.splice(0);
    return Promise.all(permits.map((permit) => permit.release().catch(() => false))).then(() => undefined);
  }
}

const endedError = (): TaskCancelledError =>
  new TaskCancelledError(cancelReason('task', 'its task attempt had ended'));
