/**
 * Sends requests in batches: what callers ask for in the same moment (the same microtask checkpoint),
 * or while the previous batch is on its way, goes out in one call. No request waits for a timer, so an
 * idle caller pays nothing, and a busy one pays one round trip (and one script run) per batch.
 */
export class Batcher<Request, Reply> {
  readonly #send: (batch: Request[]) => Promise<Reply[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: { request: Request; resolve: (reply: Reply) => void; reject: (error: unknown) => void }[] = [];
  #scheduled = false;
  #inFlight = 0;
  #onIdle: (() => void) | undefined;

  /**
   * @param maxInFlight batches on their way at once: more than one keeps Redis busy while a reply
   *   travels back; calls on one connection stay in order either way.
   */
  constructor(send: (batch: Request[]) => Promise<Reply[]>, maxBatch = 200, maxInFlight = 2) {
    this.#send = send;
    this.#maxBatch = maxBatch;
    this.#maxInFlight = maxInFlight;
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
    while (this.#queue.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#queue.splice(0, this.#maxBatch);
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
