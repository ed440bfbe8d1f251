import { ArgumentRangeError } from './errors.ts';
import { parseOptions, positiveInt } from './options.ts';

/**
 * asyncio.Semaphore for one process: at most `limit` permits out at once, waiters served first come,
 * first served (a large request is not overtaken by small ones), every wait abortable.
 * Used for a worker's `concurrency` and its named local limits.
 */

export interface AcquireOptions {
  readonly signal?: AbortSignal;
  /** Permits to take at once; default 1. */
  readonly permits?: number;
}

export interface LocalPermit extends Disposable, AsyncDisposable {
  readonly permits: number;
  /** Gives the permits back. Returns false if they were already given back (so twice is harmless). */
  release(): boolean;
}

interface Waiter {
  readonly permits: number;
  readonly resolve: (permit: LocalPermit) => void;
  readonly reject: (reason: unknown) => void;
  readonly cleanup: () => void;
}

export class LocalSemaphore {
  readonly #limit: number;
  #available: number;
  readonly #waiters: Waiter[] = [];
  readonly #onAvailable = new Set<() => void>();

  constructor(limit: number) {
    this.#limit = parseOptions(positiveInt(), limit, 'limit');
    this.#available = this.#limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Permits not held by anyone. */
  get available(): number {
    return this.#available;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(options: AcquireOptions = {}): Promise<LocalPermit> {
    const permits = this.#checkPermits(options.permits);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#waiters.length === 0 && this.#available >= permits) {
      this.#available -= permits;
      return Promise.resolve(this.#permit(permits));
    }
    return new Promise<LocalPermit>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        reject(signal?.reason);
        // A large waiter leaving the head may unblock the ones behind it.
        this.#drain();
      };
      const waiter: Waiter = {
        permits,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Resolves when a permit is free and nobody is queued, without taking it. A worker's fetch loop waits
   * here before it takes a job from the queue, so it never holds a slot while it waits for work.
   */
  whenAvailable(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#available > 0 && this.#waiters.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#onAvailable.delete(listener);
        reject(signal?.reason);
      };
      const listener = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#onAvailable.add(listener);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Takes permits only if they are free right now and nobody is queued before us. */
  tryAcquire(permits?: number): LocalPermit | undefined {
    const n = this.#checkPermits(permits);
    if (this.#waiters.length > 0 || this.#available < n) return undefined;
    this.#available -= n;
    return this.#permit(n);
  }

  #checkPermits(permits: number | undefined): number {
    // Validation only on the unusual path: this runs once per task.
    const n =
      permits === undefined
        ? 1
        : Number.isInteger(permits) && permits >= 1
          ? permits
          : parseOptions(positiveInt(), permits, 'permits');
    if (n > this.#limit) {
      throw new ArgumentRangeError(`Invalid \`permits\`: ${n} is more than the limit of ${this.#limit}`);
    }
    return n;
  }

  #permit(permits: number): LocalPermit {
    let held = true;
    const release = (): boolean => {
      if (!held) return false;
      held = false;
      this.#available += permits;
      this.#drain();
      return true;
    };
    return { permits, release, [Symbol.dispose]: release, [Symbol.asyncDispose]: async () => void release() };
  }

  #drain(): void {
    while (true) {
      const head = this.#waiters[0];
      if (head === undefined || head.permits > this.#available) break;
      this.#waiters.shift();
      this.#available -= head.permits;
      head.cleanup();
      head.resolve(this.#permit(head.permits));
    }
    if (this.#available > 0 && this.#waiters.length === 0 && this.#onAvailable.size > 0) {
      const listeners = [...this.#onAvailable];
      this.#onAvailable.clear();
      for (const listener of listeners) listener();
    }
  }
}
