import { Job, type Processor, Worker } from 'bullmq';
import type { TaskJobData } from '../producer/group-client.ts';
import type { RedisClient } from '../shared/connection.ts';
import { defaults } from '../shared/defaults.ts';
import type { Logger } from './options.ts';
import type { SlotHolder, SlotPool } from './slot-pool.ts';

/** BullMQ's Worker, driven by hand (BullMQ's "manually fetching jobs" pattern) so slots can be parked. */
class ManualWorker extends Worker<TaskJobData> {
  startLockRenewal(): void {
    this.lockManager.start();
  }
}

export interface JobLoopOptions {
  readonly queue: string;
  readonly prefix: string;
  readonly connection: RedisClient;
  readonly name: string | undefined;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
}

export type TaskProcessor = (
  job: Job<TaskJobData>,
  token: string,
  signal: AbortSignal | undefined,
  holder: SlotHolder,
) => Promise<void>;

/**
 * Takes jobs from BullMQ when this worker has a free slot. BullMQ's own loop fixes its concurrency, so a
 * task that gives its slot back while it waits for a child group would not let another job in; this
 * loop asks BullMQ for a job whenever a slot is free instead, and uses BullMQ for everything else
 * (locks and their renewal, stalled jobs, retries, completion).
 *
 *   wait for a free slot ─▶ getNextJob (blocking) ─▶ take the slot ─▶ processJob ─┐
 *          ▲                                                                   │ BullMQ may hand back
 *          └──────────────────── slot released ◀── no next job ◀──────────────┘ the next job, if a
 *                                                                                slot is free for it
 * A succeeded handler gives its slot back before its outcome is written (two round trips that run no
 * user code), so the slots bound the handlers running, and the bookkeeping overlaps the next tasks.
 */
export class JobLoop {
  readonly #bull: ManualWorker;
  readonly #slots: SlotPool;
  readonly #logger: Logger;
  readonly #stop = new AbortController();
  readonly #holders = new Map<string, SlotHolder>();
  readonly #chains = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;
  #tokens = 0;

  constructor(options: JobLoopOptions, slots: SlotPool, processor: TaskProcessor, logger: Logger) {
    this.#slots = slots;
    this.#logger = logger;
    const process: Processor<TaskJobData> = (job, token, signal) => {
      const holder = this.#holders.get(job.id ?? '');
      if (holder === undefined) throw new Error(`No slot for job ${job.id}`);
      return processor(job, token ?? '', signal, holder);
    };
    this.#bull = new ManualWorker(options.queue, process, {
      connection: options.connection,
      prefix: options.prefix,
      autorun: false,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      // The default retention; a producer configured otherwise puts its own on each job.
      removeOnComplete: defaults.removeOnComplete,
      removeOnFail: defaults.removeOnFail,
      ...(options.name === undefined ? {} : { name: options.name }),
    });
    this.#bull.on('error', (error) => this.#logger.warn('BullMQ worker error', error));
  }

  get bullmq(): Worker<TaskJobData> {
    return this.#bull;
  }

  async start(): Promise<void> {
    await this.#bull.waitUntilReady();
    this.#bull.startLockRenewal();
    await this.#bull.startStalledCheckTimer();
    this.#loop = this.#run();
  }

  /** Jobs taken and not yet finished (running or parked). */
  get active(): number {
    return this.#chains.size;
  }

  /** Stops taking jobs. Running ones go on; `drained()` waits for them. */
  async stop(): Promise<void> {
    this.#stop.abort();
    // Interrupts the blocking wait for a job, so the loop sees the stop at once.
    await this.#bull.backend.disconnectBlocking(false).catch(() => undefined);
    await this.#loop;
  }

  async drained(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all(this.#chains);
  }

  async close(): Promise<void> {
    await this.#bull.close(true);
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      try {
        await this.#slots.whenAvailable(stop);
        const job = await this.#bull.getNextJob(`${this.#bull.id}:${this.#tokens++}`);
        if (job === undefined) continue;
        const slot = await this.#slots.acquire();
        this.#track(this.#chain(job, { slot }));
      } catch (error) {
        if (stop.aborted) return;
        this.#logger.warn('could not fetch a job; retrying', error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Processes a job, then whatever next job BullMQ hands back with its completion, on the same slot. */
  async #chain(first: Job<TaskJobData>, holder: SlotHolder): Promise<void> {
    let job: Job<TaskJobData> | undefined = first;
    try {
      while (job !== undefined) {
        const id = job.id ?? '';
        this.#holders.set(id, holder);
        try {
          const next = await this.#bull.processJob(job, job.token ?? '', () => this.#slotForNext(holder));
          job = next instanceof Job ? next : undefined;
        } finally {
          this.#holders.delete(id);
        }
      }
    } catch (error) {
      this.#logger.error('job processing failed', error);
    } finally {
      this.#slots.release(holder);
    }
  }

  /** Whether to take the next job along with a completion: only if this chain has, or gets, a slot. */
  #slotForNext(holder: SlotHolder): boolean {
    if (this.#stop.signal.aborted) return false;
    holder.slot ??= this.#slots.tryAcquire();
    return holder.slot !== undefined;
  }

  #track(chain: Promise<void>): void {
    this.#chains.add(chain);
    void chain.finally(() => this.#chains.delete(chain));
  }
}
