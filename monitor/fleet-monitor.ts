import { Producer } from '../producer/producer.ts';
import type { RedisClient } from '../shared/connection.ts';
import { type ConnectionInput, closeRedis, createRedis } from '../shared/connection.ts';
import {
  GroupNotFoundError,
  KeyTypeError,
  SemaphoreNotFoundError,
  type TaskFailedError,
} from '../shared/errors.ts';
import { GroupScripts } from '../shared/group-protocol/group-scripts.ts';
import type { GroupState, GroupStatus } from '../shared/group-protocol/group-state.ts';
import { QueueKeys, semaphoreIndex, taskJobId } from '../shared/keys.ts';
import { DistributedSemaphore, type SemaphoreStatus } from '../shared/semaphore/distributed-semaphore.ts';
import { decodeOutcome } from '../shared/task-codec.ts';
import { readWorkers, type WorkerInfo } from '../worker/heartbeat.ts';
import { readTaskRows, type TaskRow } from './task-rows.ts';

export interface FleetMonitorOptions {
  readonly connection: ConnectionInput;
  readonly queue: string;
  readonly prefix: string;
}

/** The first real failure of a group, as one line can show it. */
export interface FirstError {
  readonly index: number;
  readonly taskName: string;
  readonly name: string;
  readonly code: string | undefined;
  readonly message: string;
}

/** A group as lists show it: its status, and its first real failure if it has one. */
export interface GroupSummary {
  readonly status: GroupStatus;
  readonly firstError: FirstError | undefined;
}

/**
 * What the CLI and the dashboard read about a queue's fleet: groups, their tasks, semaphores and
 * workers. Reads only (plus cancel and setLimit, which are one script each); one connection.
 */
export class FleetMonitor {
  readonly keys: QueueKeys;
  readonly redis: RedisClient;
  readonly #scripts: GroupScripts;
  readonly #prefix: string;
  readonly #semaphores = new Map<string, DistributedSemaphore>();
  readonly #options: FleetMonitorOptions;
  /** Made for the first cancel: its connections are only needed then. */
  #producer: Producer | undefined;

  constructor(options: FleetMonitorOptions, role = 'monitor') {
    this.#options = options;
    this.keys = new QueueKeys(options.prefix, options.queue);
    this.#prefix = options.prefix;
    this.redis = createRedis(options.connection, { name: `taskfleet:${options.queue}:${role}` });
    this.redis.on('error', () => undefined); // commands report their own errors
    this.#scripts = new GroupScripts(this.redis, this.keys);
  }

  /** The most recent groups (children too), newest first. Forgets ids whose retention ran out. */
  async groups(limit: number): Promise<GroupSummary[]> {
    const ids = await this.redis.zrevrange(this.keys.groups, 0, limit - 1);
    const statuses = await Promise.all(ids.map((id) => this.#scripts.status(id).catch(skipBroken)));
    const gone = ids.filter((_id, k) => statuses[k] === undefined);
    if (gone.length > 0) await this.redis.zrem(this.keys.groups, ...gone);
    const found = statuses.filter((s): s is GroupStatus => s !== undefined && s !== null);
    return Promise.all(found.map(async (status) => ({ status, firstError: await this.firstError(status) })));
  }

  /** Redis time, ms: group times are Redis times, so ages are measured against it. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async group(id: string): Promise<GroupStatus> {
    const status = await this.#scripts.status(id);
    if (status === undefined) throw new GroupNotFoundError(id);
    return status;
  }

  /** The group's first real failure (fail-fast: the one that stopped it), if any. */
  async firstError(status: GroupStatus): Promise<FirstError | undefined> {
    if (status.counts.failed === 0) return undefined;
    const [index] = await this.redis.lrange(this.keys.group(status.id).fails, 0, 0);
    if (index === undefined) return undefined;
    const [raw] = await this.#scripts.outcomesAt(status.id, [Number(index)]);
    if (raw === null || raw === undefined) return undefined;
    const taskId = taskJobId(status.id, status.epoch, Number(index));
    const outcome = decodeOutcome(raw, () => ({ groupId: status.id, index: Number(index), taskId }));
    if (outcome.status !== 'rejected') return undefined;
    const failure: TaskFailedError = outcome.reason;
    return {
      index: failure.task.index,
      taskName: failure.task.taskName,
      name: failure.remote.name,
      code: failure.remote.code,
      message: failure.message,
    };
  }

  async tasks(status: GroupStatus, from: number, count: number): Promise<TaskRow[]> {
    return readTaskRows(this.redis, this.#scripts, status, from, count);
  }

  /** Cancels a group (reason kind `user`), as `producer.group(id).cancel()`; resolves with its state afterwards. */
  async cancel(id: string, reason: string): Promise<GroupState> {
    this.#producer ??= new Producer(this.#options);
    return this.#producer.group(id).cancel(reason);
  }

  /** Every named semaphore of the prefix, by name. */
  async semaphores(): Promise<SemaphoreStatus[]> {
    const names = (await this.redis.smembers(semaphoreIndex(this.#prefix))).sort();
    const statuses = await Promise.all(names.map((name) => this.#semaphore(name).status().catch(skipBroken)));
    return statuses.filter((s): s is SemaphoreStatus => s !== null);
  }

  async semaphore(name: string): Promise<SemaphoreStatus> {
    const status = await this.#semaphore(name).status();
    const listed = await this.redis.sismember(semaphoreIndex(this.#prefix), name);
    const unused = status.limit === 0 && status.holders.length === 0 && status.waiters.length === 0;
    if (unused && listed === 0) throw new SemaphoreNotFoundError(name);
    return status;
  }

  async setLimit(name: string, limit: number): Promise<{ previous: number; lastToken: number }> {
    return this.#semaphore(name).setLimit(limit);
  }

  async workers(): Promise<WorkerInfo[]> {
    return readWorkers(this.redis, this.keys);
  }

  async close(): Promise<void> {
    await this.#producer?.close();
    await closeRedis(this.redis);
  }

  #semaphore(name: string): DistributedSemaphore {
    let semaphore = this.#semaphores.get(name);
    if (semaphore === undefined) {
      semaphore = new DistributedSemaphore(this.redis, name, { prefix: this.#prefix });
      this.#semaphores.set(name, semaphore);
    }
    return semaphore;
  }
}

/**
 * A group or semaphore whose key something else overwrote (KeyTypeError) is left out of lists, not
 * dropped from the index: asked for by name, it reports the error. One bad key must not hide the rest.
 */
function skipBroken(error: unknown): null {
  if (error instanceof KeyTypeError) return null;
  throw error;
}
