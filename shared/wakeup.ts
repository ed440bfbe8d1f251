/**
 * A wake-up flag: `notify()` wakes the current `wait()`, or the next one if nobody is waiting yet, so a
 * notification that arrives between "check the state" and "wait" is never lost.
 */
export class Wakeup {
  #pending = false;
  #wake: (() => void) | undefined;

  notify(): void {
    if (this.#wake === undefined) {
      this.#pending = true;
      return;
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake();
  }

  /** Resolves on notify, after `timeoutMs` (a safety net, not the mechanism), or rejects on abort. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#wake = undefined;
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#wake = () => {
        done();
        resolve();
      };
    });
  }
}
