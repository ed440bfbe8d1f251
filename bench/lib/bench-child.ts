import { type ChildProcess, fork } from 'node:child_process';

export type Message = { type: string } & Record<string, unknown>;

/**
 * A benchmark child process driven over IPC: the parent sends `{ op, ... }`, the child answers with
 * `{ type, ... }` messages, read in order with next() (or as a stream with on()). The child's config
 * travels in BENCH_CONFIG; it sends one message (any type) when it is ready.
 */
export class BenchChild {
  readonly #child: ChildProcess;
  readonly #inbox: Message[] = [];
  #waiter: ((m: Message) => void) | undefined;
  #listener: ((m: Message) => void) | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (m: Message) => {
      if (m.type === 'error') console.error('bench child error:', m.message);
      if (this.#listener !== undefined) return this.#listener(m);
      const waiter = this.#waiter;
      if (waiter !== undefined) {
        this.#waiter = undefined;
        waiter(m);
      } else this.#inbox.push(m);
    });
  }

  static async start(module: URL, config: object, execArgv: string[] = []): Promise<BenchChild> {
    const child = fork(module, [], {
      env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
      execArgv: [...process.execArgv, ...execArgv],
    });
    const started = new BenchChild(child);
    await started.next();
    return started;
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  send(message: object): void {
    this.#child.send(message);
  }

  next(): Promise<Message> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Every later message goes to `listener` instead of next(); undefined to stop. */
  on(listener: ((m: Message) => void) | undefined): void {
    this.#listener = listener;
    if (listener !== undefined) for (const m of this.#inbox.splice(0)) listener(m);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.send({ op: 'exit' });
    await exited;
  }
}

/** The child's side: its config. A child whose parent is gone (crashed, killed) exits too. */
export function benchConfig<T>(): T {
  process.once('disconnect', () => process.exit(1));
  return JSON.parse(process.env.BENCH_CONFIG ?? '{}') as T;
}

/** To the parent; a no-op outside a forked process. */
export function reply(message: Message): void {
  process.send?.(message);
}

/** Absolute time in ms, comparable between processes on one machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
