import { type LocalPermit, LocalSemaphore } from '../shared/local-semaphore.ts';

/**
 * The concurrency slot a task holds: it changes when the task parks and resumes, and is given back
 * early (undefined) once a handler has succeeded, while its outcome is written.
 */
export interface SlotHolder {
  slot: LocalPermit | undefined;
}

/**
 * A worker's `concurrency` slots. A task that waits for a child group *parks*: it gives its slot back
 * while it waits and takes one again (first come, first served) when the wait is over. So a task
 * waiting on its children never starves them, even with `concurrency: 1` — the deadlock BullMQ flows,
 * Hatchet and Temporal users run into. At most `maxParked` tasks park at once; past that a waiting
 * task keeps its slot, which bounds how many jobs one worker can hold.
 */
export class SlotPool {
  readonly #slots: LocalSemaphore;
  readonly #maxParked: number;
  #parked = 0;

  constructor(concurrency: number, maxParked: number) {
    this.#slots = new LocalSemaphore(concurrency);
    this.#maxParked = maxParked;
  }

  /** Resolves when a slot is free (without taking it): the moment to fetch a job. */
  whenAvailable(signal: AbortSignal): Promise<void> {
    return this.#slots.whenAvailable(signal);
  }

  acquire(): Promise<LocalPermit> {
    return this.#slots.acquire();
  }

  /** A slot if one is free right now (for the job BullMQ hands back with a completion). */
  tryAcquire(): LocalPermit | undefined {
    return this.#slots.tryAcquire();
  }

  /** Gives the holder's slot back (a succeeded handler whose outcome is still being written). */
  release(holder: SlotHolder): void {
    holder.slot?.release();
    holder.slot = undefined;
  }

  async park<T>(holder: SlotHolder, waiting: Promise<T>): Promise<T> {
    if (this.#parked >= this.#maxParked || holder.slot === undefined) return waiting;
    this.#parked++;
    holder.slot.release();
    try {
      return await waiting;
    } finally {
      this.#parked--;
      holder.slot = await this.#slots.acquire();
    }
  }

  /** Tasks holding a slot. */
  get busy(): number {
    return this.#slots.limit - this.#slots.available;
  }

  get parked(): number {
    return this.#parked;
  }
}
