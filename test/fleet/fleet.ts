import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetWorkerOptions } from '../../worker/index.ts';
import type { FleetEvent } from './report.ts';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const DEFAULT_TASKS = new URL('./tasks.ts', import.meta.url).href;

export interface FleetOptions {
  readonly redisUrl: string;
  readonly queue: string;
  /** Worker processes to start. */
  readonly workers: number;
  /** Module with the task handlers (default: test/fleet/tasks.ts). */
  readonly tasksModule?: string;
  /** FleetWorker options for every process (JSON-serializable ones). */
  readonly options?: Omit<FleetWorkerOptions, 'connection' | 'queue' | 'logger'>;
  /** Extra environment of the worker processes (OTEL_* for telemetry tests). */
  readonly env?: Readonly<Record<string, string>>;
  /** Start the OpenTelemetry SDK in each worker process (startTelemetry), flushed when it stops. */
  readonly telemetry?: boolean;
  /** Keep what the processes print in `output` (still passed on to this process's stderr). */
  readonly captureOutput?: boolean;
}

type Predicate = (event: FleetEvent) => boolean;

/**
 * N worker *processes* of a test's queue, with the events their tasks report. `waitFor` awaits an
 * event (the tests' synchronisation: never a sleep); `kill` and `stop` end processes, and the test
 * fails if one is left running (`stop` in afterEach/afterAll).
 */
export class Fleet {
  readonly events: FleetEvent[] = [];
  /** Everything the processes wrote to stdout and stderr, with `captureOutput`. */
  readonly output: string[] = [];
  readonly #children: ChildProcess[] = [];
  readonly #options: FleetOptions;
  readonly #waiters = new Set<{ predicate: Predicate; resolve: (e: FleetEvent) => void }>();

  private constructor(options: FleetOptions) {
    this.#options = options;
  }

  static async start(options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    await Promise.all(Array.from({ length: options.workers }, () => fleet.add()));
    return fleet;
  }

  get pids(): number[] {
    return this.#children.map((child) => child.pid ?? 0);
  }

  /** Starts one more worker process and resolves when it takes tasks. */
  async add(options?: FleetOptions['options'], metricsPort?: number): Promise<number> {
    const config = {
      redisUrl: this.#options.redisUrl,
      tasksModule: this.#options.tasksModule ?? DEFAULT_TASKS,
      options: { ...this.#options.options, ...options, queue: this.#options.queue },
      telemetry: this.#options.telemetry === true || metricsPort !== undefined,
      metricsPort,
    };
    const child = fork(ENTRY, [], {
      env: { ...process.env, ...this.#options.env, TASKFLEET_FLEET_CONFIG: JSON.stringify(config) },
      stdio: this.#options.captureOutput
        ? ['ignore', 'pipe', 'pipe', 'ipc']
        : ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        this.output.push(chunk.toString());
        process.stderr.write(chunk);
      });
    }
    this.#children.push(child);
    child.on('message', (message: { type?: string; event?: FleetEvent }) => {
      if (message.type === 'event' && message.event !== undefined) this.#record(message.event);
    });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: { type?: string }): void => {
        if (message.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null): void =>
        reject(new Error(`worker process exited (${code}) before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    return child.pid ?? 0;
  }

  /** Resolves with the first event (already seen or still to come) that matches. */
  waitFor(predicate: Predicate, timeoutMs = 20_000): Promise<FleetEvent> {
    const seen = this.events.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve: (event: FleetEvent) => finish(() => resolve(event)) };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `no matching fleet event within ${timeoutMs} ms; saw ${JSON.stringify(this.events.slice(-10))}`,
              ),
            ),
          ),
        timeoutMs,
      );
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        settle();
      };
      this.#waiters.add(waiter);
    });
  }

  /** Resolves once `count` events match. */
  async waitForCount(predicate: Predicate, count: number, timeoutMs = 20_000): Promise<FleetEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.filter(predicate).length < count) {
      const seen = this.events.filter(predicate).length;
      await this.waitFor(
        (e) => predicate(e) && this.events.filter(predicate).length > seen,
        Math.max(1, deadline - Date.now()),
      );
    }
    return this.events.filter(predicate);
  }

  count(predicate: Predicate): number {
    return this.events.filter(predicate).length;
  }

  /** Kills one worker process (SIGKILL by default) and resolves when it has exited. */
  async kill(pid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#children.find((c) => c.pid === pid);
    if (child === undefined) throw new Error(`no worker process ${pid}`);
    await exit(child, signal);
    this.#children.splice(this.#children.indexOf(child), 1);
  }

  /** Closes every worker gracefully (SIGTERM), killing any that takes longer than `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    await Promise.all(
      this.#children.map(async (child) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exit(child, 'SIGTERM');
        clearTimeout(timer);
      }),
    );
    this.#children.length = 0;
  }

  #record(event: FleetEvent): void {
    this.events.push(event);
    for (const waiter of [...this.#waiters]) if (waiter.predicate(event)) waiter.resolve(event);
  }
}

function exit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
