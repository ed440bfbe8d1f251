export interface BatcherOptions {
  /** Requests per call at most. Default 200. */
  readonly maxBatch?: number;
  /** Calls on their way at once: more than one keeps Redis busy while a reply travels back. Default 2. */
  readonly maxInFlight?: number;
  /**
   * Split a large batch: when at least twice this many requests wait and more than one call may go,
   * they go as several calls of at least this many, so Redis runs the next while this process handles
   * the first one's reply. Worth it where replies lead straight to new requests (a semaphore's grants
   * to releases): one whole batch per round trip would keep the two sides taking turns. Default: never.
   */
  readonly splitAt?: number;
}

/**
 * Sends requests in batches: what callers ask for in the same moment (the same microtask checkpoint),
 * or while the previous batch is on its way, goes out in one call. No request waits for a timer, so an
 * idle caller pays nothing, and a busy one pays one round trip (and one script run) per batch. Calls on
 * one connection stay in order, so requests reach Redis in the order they were submitted.
 */
export class Batcher<Request, Reply> {
  readonly #send: (batch: Request[]) => Promise<Reply[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #splitAt: number;
  #queue: { request: Request; resolve: (reply: Reply) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;
  #inFlight = 0;
  #onIdle: (() => void) | undefined;

  constructor(send: (batch: Request[]) => Promise<Reply[]>, options: BatcherOptions = {}) {
    this.#send = send;
    this.#maxBatch = options.maxBatch ?? 200;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#splitAt = options.splitAt ?? Number.POSITIVE_INFINITY;
  }

  submit(request: Request): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      if (!this.#scheduled && this.#inFlight < this.#maxInFlight) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const calls = Math.min(
      this.#maxInFlight - this.#inFlight,
      Math.floor(this.#queue.length / this.#splitAt),
    );
    const size = Math.min(this.#maxBatch, Math.ceil(this.#queue.length / Math.max(1, calls)));
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#queue.splice(0, size);
      this.#inFlight++;
      this.#send(batch.map((item) => item.request)).then(
        (replies) => {
          for (const [k, item] of batch.entries()) item.resolve(replies[k] as Reply);
          this.#done();
        },
        (error: unknown) => {
          for (const item of batch) item.reject(error);
          this.#done();
        },
      );
    }
  }

  #done(): void {
    this.#inFlight--;
    if (this.#queue.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flush());
    } else if (this.#queue.length === 0 && this.#inFlight === 0) {
      this.#onIdle?.();
    }
  }

  /** Called whenever nothing is queued or on its way. */
  set onIdle(listener: () => void) {
    this.#onIdle = listener;
  }

  get idle(): boolean {
    return this.#queue.length === 0 && this.#inFlight === 0 && !this.#scheduled;
  }
}

/** One Batcher per key (a group id), made on demand and dropped when idle. */
export class KeyedBatcher<Request, Reply> {
  readonly #send: (key: string, batch: Request[]) => Promise<Reply[]>;
  readonly #batchers = new Map<string, Batcher<Request, Reply>>();

  constructor(send: (key: string, batch: Request[]) => Promise<Reply[]>) {
    this.#send = send;
  }

  submit(key: string, request: Request): Promise<Reply> {
    let batcher = this.#batchers.get(key);
    if (batcher === undefined) {
      const made = new Batcher<Request, Reply>((batch) => this.#send(key, batch));
      made.onIdle = () => {
        if (this.#batchers.get(key) === made && made.idle) this.#batchers.delete(key);
      };
      this.#batchers.set(key, made);
      batcher = made;
    }
    return batcher.submit(request);
  }
}
