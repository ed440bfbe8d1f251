import { type JobsOptions, Queue } from 'bullmq';
import type { RedisClient } from '../shared/connection.ts';
import { closeRedis, createRedis } from '../shared/connection.ts';
import { whenConnected } from '../shared/connection-check.ts';
import { defaults } from '../shared/defaults.ts';
import { GroupNotFoundError, GroupNotOpenError } from '../shared/errors.ts';
import { GroupScripts } from '../shared/group-protocol/group-scripts.ts';
import { type GroupStatus, isFinal } from '../shared/group-protocol/group-state.ts';
import { QueueKeys, taskJobId } from '../shared/keys.ts';
import { describeConnection } from '../shared/redact.ts';
import { Subscriber } from '../shared/subscriber.ts';
import { Wakeup } from '../shared/wakeup.ts';
import type { TaskTrace } from './group-trace.ts';
import type { KeepJobs, ResolvedProducerOptions, TaskOptions } from './options.ts';

/**
 * What a task's BullMQ job carries besides its id (which names the group, epoch and index: see
 * taskJobId). Short field names and nothing repeated: this is stored, and read back, once per task.
 */
export interface TaskJobData {
  /** the task's data (absent for undefined) */
  readonly d?: unknown;
  /** the group's maxConcurrency (absent for none) */
  readonly c?: number;
  /** W3C traceparent of the task's parent span (or, with `k`, of the span to link to) */
  readonly t?: string;
  /** 1: the task span starts its own trace and links to `t` (a group too large for one trace) */
  readonly k?: 1;
}

/** What every job of a group carries about the group. */
export interface GroupRef {
  readonly id: string;
  readonly epoch: string;
  readonly maxConcurrency: number | undefined;
}

export interface TaskToSend {
  readonly name: string;
  readonly data: unknown;
  readonly options: TaskOptions | undefined;
}

/** If a group event is missed (it cannot be, short of a bug), waiting still re-reads the state this often. */
const SAFETY_POLL_MS = 10_000;

/**
 * The connections and operations every side of a group uses: the producer's task groups, attached
 * handles, and a worker's ctx.createTask / ctx.taskGroup. Owns one command connection, the BullMQ
 * Queue (on that connection) and one subscriber.
 */
export class GroupClient {
  readonly options: ResolvedProducerOptions;
  readonly keys: QueueKeys;
  readonly scripts: GroupScripts;
  readonly redis: RedisClient;
  readonly #queue: Queue;
  /** The process side's one pub/sub connection (group events; a worker's cancel channel too). */
  readonly subscriber: Subscriber;

  /**
   * @param role names the connections (`CLIENT LIST`).
   * @param patient workers wait out a Redis outage (commands queue until it is back) rather than fail a task.
   */
  constructor(options: ResolvedProducerOptions, role: string, patient = false) {
    this.options = options;
    this.keys = new QueueKeys(options.prefix, options.queue);
    this.redis = createRedis(options.connection, {
      name: `taskfleet:${options.queue}:${role}`,
      ...(patient ? { maxRetriesPerRequest: null } : {}),
    });
    this.redis.on('error', () => undefined); // retried by ioredis; commands report their own errors
    this.scripts = new GroupScripts(this.redis, this.keys);
    this.#queue = new Queue(options.queue, { connection: this.redis, prefix: options.prefix });
    // Without a listener BullMQ prints the connection's errors, whose command may carry the password.
    this.#queue.on('error', () => undefined);
    this.subscriber = new Subscriber(() =>
      createRedis(options.connection, {
        name: `taskfleet:${options.queue}:${role}:sub`,
        maxRetriesPerRequest: null,
      }),
    );
  }

  /**
   * Sends tasks: allocates their indexes (one script) and adds their jobs (one addBulk). Returns the first
   * index. Job ids are fixed by the index, so a retried addBulk cannot add a task twice.
   */
  async send(group: GroupRef, tasks: readonly TaskToSend[], trace?: TaskTrace): Promise<number> {
    const { id: groupId, epoch, maxConcurrency } = group;
    const start = await this.scripts.addTasks(groupId, tasks.length, epoch);
    if (start === 'missing') throw new GroupNotFoundError(groupId);
    if (start === 'not-accepting')
      throw new GroupNotOpenError(groupId, (await this.scripts.state(groupId)) ?? 'gone');
    const jobs = tasks.map((task, k) => {
      const index = start + k;
      const data: TaskJobData = {
        ...(task.data === undefined ? {} : { d: task.data }),
        ...(maxConcurrency === undefined ? {} : { c: maxConcurrency }),
        ...traceFields(trace, index),
      };
      return {
        name: task.name,
        data,
        opts: this.#jobOptions(taskJobId(groupId, epoch, index), task.options),
      };
    });
    await this.#addBulk(jobs);
    return start;
  }

  /** Resolves with the status once the group is final: woken by the group's event channel, not by polling. */
  /** `epoch`: only that incarnation of the id (see GroupHandle); "" for any. */
  async waitForFinal(groupId: string, signal?: AbortSignal, epoch = ''): Promise<GroupStatus> {
    const wakeup = new Wakeup();
    const unsubscribe = await this.subscriber.subscribe(this.keys.group(groupId).events, () =>
      wakeup.notify(),
    );
    const offReconnect = this.subscriber.onReconnect(() => wakeup.notify());
    try {
      while (true) {
        const status = await this.scripts.status(groupId);
        if (status === undefined || (epoch !== '' && status.epoch !== epoch)) {
          throw new GroupNotFoundError(groupId);
        }
        if (isFinal(status.state)) return status;
        await wakeup.wait(SAFETY_POLL_MS, signal);
      }
    } finally {
      offReconnect();
      await unsubscribe();
    }
  }

  /** Jobs of the queue by BullMQ state (wait, active, delayed, prioritized, failed, completed ...). */
  async jobCounts(): Promise<Record<string, number>> {
    return this.#queue.getJobCounts(
      'wait',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
      'failed',
      'completed',
    );
  }

  /**
   * Resolves once the connection is up. A wrong password or an untrusted TLS certificate rejects at once
   * (RedisAuthError, RedisTlsError); an outage is waited out.
   */
  async ready(): Promise<void> {
    await whenConnected(this.redis, describeConnection(this.options.connection));
    await this.#queue.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await this.#queue.close();
    await closeRedis(this.redis);
  }

  async #addBulk(jobs: Parameters<Queue['addBulk']>[0]): Promise<void> {
    // A few quick retries ride out a reconnect; the job ids make a repeated add a no-op.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#queue.addBulk(jobs);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  #jobOptions(jobId: string, task: TaskOptions | undefined): JobsOptions {
    const { removeOnComplete, removeOnFail } = this.options;
    const opts: JobsOptions = { jobId };
    // Workers apply the default retention themselves: a job carries it only when it differs, which
    // saves BullMQ parsing it from every job's options (~3 µs of Redis time per task).
    if (!sameRetention(removeOnComplete, defaults.removeOnComplete)) {
      opts.removeOnComplete = removeOnComplete as NonNullable<JobsOptions['removeOnComplete']>;
    }
    if (!sameRetention(removeOnFail, defaults.removeOnFail)) {
      opts.removeOnFail = removeOnFail as NonNullable<JobsOptions['removeOnFail']>;
    }
    if (task === undefined) return opts;
    if (task.attempts !== undefined) opts.attempts = task.attempts;
    if (task.backoff !== undefined) opts.backoff = task.backoff as NonNullable<JobsOptions['backoff']>;
    if (task.priority !== undefined) opts.priority = task.priority;
    if (task.delayMs !== undefined) opts.delay = task.delayMs;
    return opts;
  }
}

/** A task below the batch's `linkFrom` is a child of the send span; above it, it links to the group span. */
function traceFields(trace: TaskTrace | undefined, index: number): { t?: string; k?: 1 } {
  if (trace === undefined) return {};
  if (index < trace.linkFrom) return trace.parent === undefined ? {} : { t: trace.parent };
  return trace.link === undefined ? {} : { t: trace.link, k: 1 };
}

function sameRetention(a: KeepJobs, b: KeepJobs): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  return a.age === b.age && a.count === b.count;
}
