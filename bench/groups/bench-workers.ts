import { BenchChild, type Message } from '../lib/bench-child.ts';
import { mergeCounts } from '../lib/redis-cost.ts';

const WORKER = new URL('./worker.ts', import.meta.url);

export type Kind = 'bullmq' | 'taskfleet';

export interface BenchWorkerConfig {
  readonly url: string;
  readonly kind: Kind;
  readonly queue: string;
  readonly concurrency: number;
}

/** Benchmark worker processes (worker.ts) on one queue, ready when start() resolves. */
export class BenchWorkers {
  readonly children: readonly BenchChild[];
  #done = 0;
  #lastAt = 0;
  #target = Number.POSITIVE_INFINITY;
  #reached: ((lastAt: number) => void) | undefined;
  #usageReplies: ((m: Message) => void)[] = [];

  private constructor(children: BenchChild[], onMessage?: (child: BenchChild, m: Message) => void) {
    this.children = children;
    for (const child of children) {
      child.on((m) => {
        if (m.type === 'done') {
          this.#done += m.count as number;
          this.#lastAt = Math.max(this.#lastAt, m.lastAt as number);
          if (this.#done >= this.#target) this.#reached?.(this.#lastAt);
        } else if (m.type === 'usage') this.#usageReplies.shift()?.(m);
        else onMessage?.(child, m);
      });
    }
  }

  static async start(
    config: BenchWorkerConfig,
    processes: number,
    onMessage?: (child: BenchChild, m: Message) => void,
  ): Promise<BenchWorkers> {
    // BENCH_PROFILE=1: a CPU profile per worker process in /tmp/bench-prof.
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/bench-prof'] : [];
    const children = await Promise.all(
      Array.from({ length: processes }, () => BenchChild.start(WORKER, config, profile)),
    );
    return new BenchWorkers(children, onMessage);
  }

  /**
   * Resolves once the workers have completed `count` tasks in all (counted from the start), with the
   * absolute time (bench-child `now()`) the last of them completed.
   */
  completed(count: number): Promise<number> {
    if (this.#done >= count) return Promise.resolve(this.#lastAt);
    this.#target = count;
    return new Promise((resolve) => {
      this.#reached = resolve;
    });
  }

  /** Since the last call: the commands the workers sent, by name, and their CPU time (µs) in all. */
  async usage(): Promise<{ sent: Map<string, number>; cpuUsec: number }> {
    const sent = new Map<string, number>();
    let cpuUsec = 0;
    const replies = this.children.map(
      () =>
        new Promise<void>((resolve) => {
          this.#usageReplies.push((m) => {
            mergeCounts(sent, m.sent as [string, number][]);
            cpuUsec += m.cpuUsec as number;
            resolve();
          });
        }),
    );
    for (const child of this.children) child.send({ op: 'usage' });
    await Promise.all(replies);
    return { sent, cpuUsec };
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => child.stop()));
  }
}
