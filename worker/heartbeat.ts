import type { RedisClient } from '../shared/connection.ts';
import type { QueueKeys } from '../shared/keys.ts';
import { settlesWithin } from './settles-within.ts';

/** What a worker says about itself on each beat (`taskfleet workers`, the dashboard). */
export interface WorkerBeat {
  /** `<host>:<pid>:<nonce>`: unique even for two workers in one process. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly queue: string;
  readonly name: string | undefined;
  readonly concurrency: number;
  /** Tasks it holds: running, or parked while they wait (child group, permit). */
  readonly active: number;
  /** Handlers running now, as `<group id>#<index>` (the first RUNNING_LISTED of them). */
  readonly running: readonly string[];
  readonly runningCount: number;
  /** The task names it handles. */
  readonly tasks: readonly string[];
  readonly state: 'running' | 'closing';
  /** The worker's own clock, ms: only for showing uptime. */
  readonly startedAt: number;
  readonly intervalMs: number;
}

/** A heartbeat as read back: how long ago it was written comes from its TTL, so clocks do not matter. */
export interface WorkerInfo extends WorkerBeat {
  readonly lastBeatMsAgo: number;
}

/** Enough to see what a worker is busy with, without making a beat grow with its concurrency. */
export const RUNNING_LISTED = 20;

/** A beat lives this many intervals: a worker is listed until it misses this many beats in a row. */
const BEATS_TO_LIVE = 3;

/**
 * Publishes a worker's heartbeat: a JSON string with a TTL, renewed every interval, and the worker's id
 * in the queue's `workers` zset. A worker that dies stops renewing and drops off after 3 intervals;
 * readers remove index entries whose heartbeat is gone. One write per interval, none per task.
 *
 *   new ──start()──▶ beating ──closing()──▶ beating (state: closing) ──stop()──▶ gone (deleted at once)
 */
export class Heartbeat {
  readonly #redis: RedisClient;
  readonly #keys: QueueKeys;
  readonly #intervalMs: number;
  readonly #read: () => WorkerBeat;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #state: WorkerBeat['state'] = 'running';
  #stopped = false;

  constructor(redis: RedisClient, keys: QueueKeys, intervalMs: number, read: () => WorkerBeat) {
    this.#redis = redis;
    this.#keys = keys;
    this.#intervalMs = intervalMs;
    this.#read = read;
  }

  /** Beats once now (so the worker is listed as soon as it takes tasks), then every interval. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.#beat(), this.#intervalMs);
    // A heartbeat must not keep a process alive on its own.
    this.#timer.unref();
    await this.#beat();
  }

  /** The worker is shutting down: say so at once; it stays listed until stop(). */
  closing(): void {
    this.#state = 'closing';
    // After a beat already on its way, so this one is not skipped.
    void (this.#inFlight ?? Promise.resolve()).then(() => this.#beat());
  }

  /** Removes the heartbeat, so the worker drops off at once rather than after its TTL. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#inFlight;
    const id = this.#read().id;
    const removed = this.#redis
      .multi()
      .del(this.#keys.worker(id))
      .zrem(this.#keys.workers, id)
      .exec()
      .then(() => undefined);
    // Redis unreachable while closing: the TTL removes the heartbeat anyway; do not hold the shutdown.
    await settlesWithin(removed, this.#intervalMs);
  }

  #beat(): Promise<void> {
    // One beat at a time: during a Redis outage commands queue up, and beats must not pile up behind them.
    if (this.#inFlight !== undefined || this.#stopped) return this.#inFlight ?? Promise.resolve();
    const beat: WorkerBeat = { ...this.#read(), state: this.#state };
    this.#inFlight = this.#redis
      .multi()
      .set(this.#keys.worker(beat.id), JSON.stringify(beat), 'PX', this.#intervalMs * BEATS_TO_LIVE)
      .zadd(this.#keys.workers, String(Date.now()), beat.id)
      .exec()
      .then(
        () => undefined,
        () => undefined, // a missed beat is only a missed beat; the next one retries
      )
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }
}

/** The live workers of a queue, by host and pid. Prunes index entries whose heartbeat expired. */
export async function readWorkers(redis: RedisClient, keys: QueueKeys): Promise<WorkerInfo[]> {
  const ids = await redis.zrange(keys.workers, '0', '-1');
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.get(keys.worker(id)).pttl(keys.worker(id));
  const replies = (await pipeline.exec()) ?? [];
  const workers: WorkerInfo[] = [];
  const dead: string[] = [];
  ids.forEach((id, k) => {
    const json = replies[2 * k]?.[1];
    const pttl = Number(replies[2 * k + 1]?.[1] ?? -2);
    const beat = typeof json === 'string' ? parseBeat(json) : undefined;
    if (beat === undefined || pttl < 0) {
      dead.push(id);
      return;
    }
    workers.push({ ...beat, lastBeatMsAgo: Math.max(0, beat.intervalMs * BEATS_TO_LIVE - pttl) });
  });
  if (dead.length > 0) await redis.zrem(keys.workers, ...dead);
  return workers.sort((a, b) => a.host.localeCompare(b.host) || a.pid - b.pid || a.id.localeCompare(b.id));
}

function parseBeat(json: string): WorkerBeat | undefined {
  try {
    const beat = JSON.parse(json) as Partial<WorkerBeat>;
    return typeof beat.id === 'string' && typeof beat.intervalMs === 'number'
      ? (beat as WorkerBeat)
      : undefined;
  } catch {
    return undefined;
  }
}
