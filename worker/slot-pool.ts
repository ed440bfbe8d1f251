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
 * Hatchet and Temporal users run into. At most `maxParked` tasks park at once; past that a task waiting
 * for a child group keeps its slot, which bounds how many jobs one worker can hold.
 *
 * A task waiting for a fleet-wide permit always parks: if it kept its slot, permits granted to parked
 * tasks could wait for a slot held by tasks waiting for those very permits (a deadlock). Instead, while
 * `maxParked` tasks wait for permits, the worker takes no new job.
 */
export class SlotPool {
  readonly #slots: LocalSemaphore;
  readonly #maxParked: number;
  #parked = 0;
  /** Parked tasks waiting for a fleet-wide permit (or for their slot back after it). */
  #permitWaits = 0;
  readonly #permitWaitEnded = new Set<() => void>();

  constructor(concurrency: number, maxParked: number) {
    this.#slots = new LocalSemaphore(concurrency);
    this.#maxParked = maxParked;
  }

  /** Resolves when a slot is free (without taking it) and fewer than maxParked tasks wait for permits: the moment to fetch a job. */
  async whenAvailable(signal: AbortSignal): Promise<void> {
    await this.#slots.whenAvailable(signal);
    while (this.#maxParked > 0 && this.#permitWaits >= this.#maxParked) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.#permitWaitEnded.delete(listener);
          reject(signal.reason);
        };
        const listener = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        this.#permitWaitEnded.add(listener);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      await this.#slots.whenAvailable(signal);
    }
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

  /** Parks while waiting for a child group, if fewer than maxParked tasks are parked. */
  async park<T>(holder: SlotHolder, waiting: Promise<T>): Promise<T> {
    if (this.#parked >= this.#maxParked) return waiting;
    return this.#park(holder, waiting);
  }

  /** Parks while waiting for a fleet-wide permit, whatever the count (maxParked 0: never parks). */
  async parkForPermit<T>(holder: SlotHolder, waiting: Promise<T>): Promise<T> {
    if (this.#maxParked === 0) return waiting;
    this.#permitWaits++;
    try {
      return await this.#park(holder, waiting);
    } finally {
      this.#permitWaits--;
      for (const listener of [...this.#permitWaitEnded]) {
        this.#permitWaitEnded.delete(listener);
        listener();
      }
    }
  }

  async #park<T>(holder: SlotHolder, waiting: Promise<T>): Promise<T> {
    const slot = holder.slot;
    if (slot === undefined) return waiting;
    this.#parked++;
    slot.release();
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
