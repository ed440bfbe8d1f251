import { hostname } from 'node:os';
import { GroupClient } from '../producer/group-client.ts';
import { LeaseKeeper } from '../producer/lease-keeper.ts';
import { resolveProducerOptions } from '../producer/options.ts';
import { cancelReason } from '../shared/cancel-reason.ts';
import { TaskCancelledError } from '../shared/errors.ts';
import { LocalSemaphore } from '../shared/local-semaphore.ts';
import { CancelListener } from './cancel-listener.ts';
import { GlobalLimits } from './global-limits.ts';
import { Heartbeat, RUNNING_LISTED, type WorkerBeat } from './heartbeat.ts';
import { JobLoop } from './job-loop.ts';
import { Maintenance } from './maintenance.ts';
import { type FleetWorkerOptions, type ResolvedWorkerOptions, resolveWorkerOptions } from './options.ts';
import { Reconciler } from './reconciler.ts';
import { RunningTasks } from './running-tasks.ts';
import { settlesWithin } from './settles-within.ts';
import { SlotPool } from './slot-pool.ts';
import type { TaskHandler } from './task-context.ts';
import { type TaskDefinitionOptions, TaskRegistry } from './task-registry.ts';
import { TaskRunner } from './task-runner.ts';
import { ThreadPool } from './thread-pool.ts';
import { observeWorker } from './worker-metrics.ts';

interface Runtime {
  readonly client: GroupClient;
  readonly stopGauges: () => void;
  readonly limits: GlobalLimits;
  readonly leases: LeaseKeeper;
  readonly loop: JobLoop;
  readonly cancels: CancelListener;
  readonly maintenance: Maintenance;
  readonly reconciler: Reconciler;
  readonly heartbeat: Heartbeat;
}

/**
 * A worker process's runtime: asyncio.run() for the fleet.
 *
 *   new ──task()──▶ new ──run()──▶ running ──close()──▶ closing ──▶ closed
 *
 * run() resolves when the worker has closed (like BullMQ's worker.run()); ready() resolves once it takes
 * tasks. close() stops taking tasks, gives running ones `shutdownGraceMs`, then aborts them with a
 * `shutdown` reason: they go back to the queue, nothing is lost.
 */
export class FleetWorker {
  readonly options: ResolvedWorkerOptions;
  /** Host and pid, as written into groups' run hashes. */
  readonly id: string;
  readonly #registry: TaskRegistry;
  readonly #running = new RunningTasks();
  readonly #slots: SlotPool;
  readonly #threads: ThreadPool;
  readonly #localLimits: ReadonlyMap<string, LocalSemaphore>;
  /** Names this worker's heartbeat: unique even for two workers in one process. */
  readonly #heartbeatId = `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 6)}`;
  readonly #startedAt = Date.now();
  #runtime: Runtime | undefined;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;
  readonly #done: Promise<void>;

  constructor(options: FleetWorkerOptions) {
    this.options = resolveWorkerOptions(options);
    this.id = `${hostname()}:${process.pid}`;
    this.#registry = new TaskRegistry(this.options.localLimits, this.options.globalLimits);
    this.#slots = new SlotPool(this.options.concurrency, this.options.maxParked);
    this.#threads = new ThreadPool(this.options.maxThreads);
    this.#localLimits = new Map(
      Object.entries(this.options.localLimits).map(([name, n]) => [name, new LocalSemaphore(n)]),
    );
    this.#done = new Promise((resolve) => {
      this.#closed = resolve;
    });
  }

  /** Registers a handler: `(data, ctx) => result`. Chainable. */
  task<D = unknown, R = unknown>(
    name: string,
    handler: TaskHandler<D, R>,
    options?: TaskDefinitionOptions,
  ): this {
    this.#registry.add(name, handler as TaskHandler, options);
    return this;
  }

  /** Starts taking tasks; resolves when the worker has closed. */
  async run(): Promise<void> {
    await this.ready();
    await this.#done;
  }

  /** Starts (if needed) and resolves once the worker is subscribed to cancellations and taking tasks. */
  ready(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  /** Tasks this worker holds: running, or parked while they wait for a child group. */
  get activeTasks(): number {
    return this.#runtime?.loop.active ?? 0;
  }

  /**
   * Stops taking tasks; running ones get `shutdownGraceMs` to finish, then their signal aborts (reason
   * `shutdown`) and they go back to the queue. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #start(): Promise<void> {
    if (this.#closing !== undefined) throw new Error('FleetWorker is closed');
    const o = this.options;
    // The worker is a producer too: of its tasks' siblings and child groups.
    const producerOptions = resolveProducerOptions({
      connection: o.connection,
      queue: o.queue,
      prefix: o.prefix,
      leaseMs: o.leaseMs,
      maxDataBytes: o.maxDataBytes,
    });
    const client = new GroupClient(producerOptions, 'worker', true);
    // A wrong password or an untrusted certificate fails ready() with a typed error, not a silent retry loop.
    await client.ready().catch(async (error: unknown) => {
      await client.close();
      throw error;
    });
    if (this.#closing !== undefined) {
      await client.close();
      throw new Error('FleetWorker is closed');
    }
    const leases = new LeaseKeeper(client.scripts, o.leaseMs);
    const limits = new GlobalLimits(
      client.redis,
      o.prefix,
      o.queue,
      o.globalLimits,
      o.permitLeaseMs,
      o.logger,
      o.semaphorePrefix,
    );
    // A worker configured with a limit other than the fleet's says so when it starts, not when (if ever)
    // one of its tasks first asks for a permit.
    await Promise.all(
      limits
        .named()
        .map((semaphore) =>
          semaphore
            .checkLimit()
            .catch((error: unknown) =>
              o.logger.warn(`could not read the limit of semaphore \`${semaphore.name}\``, error),
            ),
        ),
    );
    const runner = new TaskRunner({
      client,
      leases,
      registry: this.#registry,
      running: this.#running,
      slots: this.#slots,
      localLimits: this.#localLimits,
      limits,
      threads: this.#threads,
      options: o,
      workerId: this.id,
    });
    const loop = new JobLoop(
      {
        queue: o.queue,
        prefix: o.prefix,
        connection: client.redis,
        name: o.name,
        lockDurationMs: o.lockDurationMs,
        stalledIntervalMs: o.stalledIntervalMs,
        maxStalledCount: o.maxStalledCount,
      },
      this.#slots,
      (job, token, signal, holder) => runner.process(job, token, signal, holder),
      o.logger,
    );
    const reconciler = new Reconciler(client, o.staleGroupMs);
    // BullMQ fails some jobs without calling the processor (a job that stalled more than maxStalledCount
    // times fails when next fetched): settle those tasks now rather than at the next stale scan.
    loop.bullmq.on('failed', (job) => {
      if (job === undefined || runner.ran(job) || job.id === undefined) return;
      const jobId = job.id;
      reconciler
        .checkJob(jobId)
        .catch((error: unknown) => o.logger.warn(`could not check failed job ${jobId}`, error));
    });
    const cancels = new CancelListener(
      client.subscriber,
      client.scripts,
      this.#running,
      o.cancelPollMs,
      o.logger,
    );
    const maintenance = new Maintenance(
      client,
      reconciler,
      o.maintenanceIntervalMs,
      o.staleGroupMs,
      this.id,
      o.logger,
    );
    const stopGauges = observeWorker({ loop, client, limits, queue: o.queue, workerId: this.id });
    const heartbeat = new Heartbeat(client.redis, client.keys, o.heartbeatIntervalMs, () => this.#beat());
    this.#runtime = { client, stopGauges, limits, leases, loop, cancels, maintenance, reconciler, heartbeat };
    // Cancellations first: a task must never start without someone listening for its cancel.
    await cancels.start();
    maintenance.start();
    await loop.start();
    await heartbeat.start();
  }

  /** What this worker's heartbeat says (`taskfleet workers`, the dashboard). */
  #beat(): WorkerBeat {
    const running: string[] = [];
    for (const [groupId, indexes] of this.#running.snapshot()) {
      for (const index of indexes) if (running.length < RUNNING_LISTED) running.push(`${groupId}#${index}`);
    }
    return {
      id: this.#heartbeatId,
      host: hostname(),
      pid: process.pid,
      queue: this.options.queue,
      name: this.options.name,
      concurrency: this.options.concurrency,
      active: this.activeTasks,
      running,
      runningCount: this.#running.size,
      tasks: this.#registry.names(),
      state: 'running',
      startedAt: this.#startedAt,
      intervalMs: this.options.heartbeatIntervalMs,
    };
  }

  async #close(): Promise<void> {
    const runtime = this.#runtime;
    try {
      if (runtime === undefined) return;
      await this.#started?.catch(() => undefined);
      runtime.heartbeat.closing();
      await runtime.loop.stop();
      const finished = runtime.loop.drained();
      if (!(await settlesWithin(finished, this.options.shutdownGraceMs))) {
        this.#running.abortAll(
          new TaskCancelledError(
            cancelReason('shutdown', 'the worker is shutting down; the task goes back to the queue'),
          ),
        );
        // Handlers that ignore their signal are left behind after cancelGraceMs; BullMQ's stalled check
        // gives their jobs to another worker.
        await settlesWithin(finished, this.options.cancelGraceMs + 1000);
      }
      await runtime.heartbeat.stop();
      runtime.stopGauges();
      await runtime.maintenance.stop();
      await runtime.cancels.stop();
      runtime.leases.stop();
      await runtime.limits.close();
      await runtime.loop.close();
      await runtime.client.close();
      await this.#threads.close();
    } finally {
      this.#closed?.();
    }
  }
}
