import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CancelReason } from '../cancel-reason.ts';
import type { RedisClient } from '../connection.ts';
import { KeyTypeError } from '../errors.ts';
import { type GroupKeys, newRequestId, type QueueKeys } from '../keys.ts';
import { loadScripts, ScriptRunner } from '../lua-scripts.ts';
import {
  type GroupPolicy,
  type GroupState,
  type GroupStatus,
  isGroupState,
  parseStatus,
} from './group-state.ts';

const SCRIPTS = loadScripts(dirname(fileURLToPath(import.meta.url)));

/**
 * How long add-tasks keeps a reply for a resent call. ioredis resends once the connection is back: a
 * producer within its few retries, a worker (which waits out outages) maybe much later. An hour covers
 * outages a fleet is expected to ride out, at the cost of one small hash field per batch for that long.
 */
const ADD_REPLY_MS = 3_600_000;

export interface CreateGroupArgs {
  readonly name: string;
  readonly policy: GroupPolicy;
  /** 0 = no deadline. */
  readonly deadlineMs: number;
  readonly leaseMs: number;
  readonly retentionMs: number;
  /** `<groupId>.<index>` of the task that opened this group, or ''. */
  readonly parent: string;
  readonly epoch: string;
  /** 0 = no group limit. */
  readonly maxConcurrency: number;
}

/** One incarnation of a group id: the id and the epoch it was created with. */
export interface GroupIncarnation {
  readonly id: string;
  readonly epoch: string;
}

/** What the start of a task decided (finish-and-start). */
export type StartDecision = 'run' | 'settled' | 'stopped' | 'missing';

/** How an attempt ended, as finish-and-start counts it. */
export type FinishKind = 'ok' | 'err' | 'cxl' | 'release';

export interface StartRequest {
  readonly index: number;
  /** Who runs it: written into the group's run hash. */
  readonly token: string;
}

export interface FinishRequest {
  readonly index: number;
  readonly kind: FinishKind;
  readonly payload: string;
  /** For a final failure of a fail-fast group: the reason its siblings are cancelled with. */
  readonly failReason: CancelReason | undefined;
  /**
   * The run token the attempt started with. If the task has been started again since by another
   * attempt (its job was taken over after a stall), this finish is stale and changes nothing: like
   * BullMQ, which refuses the completion of a job whose lock was lost. Absent: unconditional (the
   * reconciler settling a lost task).
   */
  readonly token?: string;
}

export interface FinishResult {
  /** 1 counted, 0 ignored (already counted), -1 no such group. */
  readonly recorded: 1 | 0 | -1;
  readonly state: GroupState | undefined;
  /** This call brought the group to its final state (counted once, by whoever did). */
  readonly finished: boolean;
}

/** A group's state after a call, and whether that call finished the group. */
export interface StateChange {
  /** undefined: the group does not exist. */
  readonly state: GroupState | undefined;
  readonly finished: boolean;
}

export type CancelTaskResult = 'cancelled' | 'aborting' | 'noop' | 'missing' | 'no-such-task';

export interface GroupCheck {
  readonly id: string;
  /** undefined: the group is gone (expired or never created). */
  readonly state: GroupState | undefined;
  /** When to look again (Redis ms); 0 when final or gone. */
  readonly nextCheckAt: number;
  /** Time since a task of the group last started or finished. */
  readonly idleMs: number;
  /** This check brought the group to its final state. */
  readonly finished: boolean;
  /** The check itself failed (a key of another type, Redis out of memory): the group may well live on. */
  readonly error?: unknown;
}

export interface CancelRequests {
  readonly id: string;
  readonly state: GroupState | undefined;
  /** The group's stop reason (JSON), when it is stopping or stopped. */
  readonly reason: string | undefined;
  /** When it stopped (Redis ms), when it is stopping or stopped. */
  readonly stoppedAt: number | undefined;
  /** Cancel requests for single running tasks: index -> reason (JSON). */
  readonly tasks: ReadonlyMap<number, string>;
}

/** Typed calls of the group Lua scripts (this folder's `.lua` files), for one queue. */
export class GroupScripts {
  readonly keys: QueueKeys;
  readonly #redis: RedisClient;
  readonly #runner: ScriptRunner;

  constructor(redis: RedisClient, keys: QueueKeys) {
    this.#redis = redis;
    this.keys = keys;
    this.#runner = new ScriptRunner(redis, SCRIPTS);
  }

  /**
   * Creates the group. It is put in the `live` set first (due at once), so that a producer dying right
   * after creating it still leaves it where maintenance looks.
   */
  async create(id: string, args: CreateGroupArgs): Promise<number | 'duplicate'> {
    const k = this.keys.group(id);
    const pipeline = this.#redis.pipeline().zadd(this.keys.live, 'NX', 0, id);
    this.#runner.queue(
      pipeline,
      'create-group',
      [k.meta],
      [
        args.name,
        args.policy,
        args.deadlineMs,
        args.leaseMs,
        args.retentionMs,
        args.parent,
        args.epoch,
        args.maxConcurrency,
      ],
    );
    const replies = (await pipeline.exec()) ?? [];
    const [error, reply] = replies[1] ?? [new Error('no reply'), null];
    if (error !== null) throw KeyTypeError.wrap(error, [k.meta]);
    const createdAt = Number(reply);
    if (createdAt < 0) return 'duplicate';
    await this.#redis.zadd(this.keys.groups, createdAt, id);
    return createdAt;
  }

  /** First index of `count` new tasks, or 'missing' / 'not-accepting'. Resent after a lost reply, it allocates once. */
  /**
   * `epoch` (here and in close, cancel, cancelTask): the incarnation of the id the caller made; a group
   * created again under the same id after this one expired counts as missing. "" acts on any.
   */
  async addTasks(id: string, count: number, epoch = ''): Promise<number | 'missing' | 'not-accepting'> {
    const k = this.keys.group(id);
    const result = Number(
      await this.#runner.run('add-tasks', [k.meta, k.adds], [count, newRequestId(), ADD_REPLY_MS, epoch]),
    );
    if (result === -1) return 'missing';
    if (result === -2) return 'not-accepting';
    return result;
  }

  async close(id: string, epoch = ''): Promise<StateChange> {
    const k = this.keys.group(id);
    return toChange(await this.#runner.run('close-group', groupKeyList(k), [k.events, epoch]));
  }

  /**
   * A worker's bookkeeping for one group in one script call: records how `finishes` ended, in order
   * (each result carries the group's state after them; `finished` is set on the last one when they
   * finished the group), then decides for each of `starts` whether it may run. `epoch` is the one in the
   * jobs' ids: a group of that id but another epoch is treated as missing (its jobs never run or count).
   */
  async finishAndStart(
    id: string,
    epoch: string,
    finishes: readonly FinishRequest[],
    starts: readonly StartRequest[],
  ): Promise<{ finished: FinishResult[]; started: StartDecision[] }> {
    const k = this.keys.group(id);
    const args: (string | number)[] = [k.events, this.keys.cancelChannel, id, epoch, finishes.length];
    for (const a of finishes) {
      const reason = a.failReason === undefined ? '' : JSON.stringify(a.failReason);
      args.push(a.index, a.kind, a.payload, reason, a.token ?? '');
    }
    for (const task of starts) args.push(task.index, task.token);
    const [state, finished, ...replies] = (await this.#runner.run(
      'finish-and-start',
      groupKeyList(k),
      args,
    )) as [string, number, ...number[]];
    return {
      finished: finishes.map((_a, i) => ({
        recorded: (replies[i] ?? -1) as 1 | 0 | -1,
        state: toState(state),
        finished: finished === 1 && i === finishes.length - 1,
      })),
      started: starts.map((_t, i) => toDecision(replies[finishes.length + i])),
    };
  }

  /** Decides, for a batch of tasks of one group a worker is about to run, whether each may run. */
  async startTasks(id: string, epoch: string, tasks: readonly StartRequest[]): Promise<StartDecision[]> {
    return (await this.finishAndStart(id, epoch, [], tasks)).started;
  }

  async startTask(id: string, epoch: string, index: number, token: string): Promise<StartDecision> {
    const [decision = 'missing'] = await this.startTasks(id, epoch, [{ index, token }]);
    return decision;
  }

  /** Records how a batch of attempts of one group ended, in order (see finishAndStart). */
  async finishTasks(id: string, epoch: string, attempts: readonly FinishRequest[]): Promise<FinishResult[]> {
    return (await this.finishAndStart(id, epoch, attempts, [])).finished;
  }

  async finishTask(
    id: string,
    epoch: string,
    index: number,
    kind: FinishKind,
    payload: string,
    failReason: CancelReason | undefined,
  ): Promise<FinishResult> {
    const [result] = await this.finishTasks(id, epoch, [{ index, kind, payload, failReason }]);
    return result ?? { recorded: -1, state: undefined, finished: false };
  }

  async cancel(id: string, reason: CancelReason, epoch = ''): Promise<StateChange> {
    const k = this.keys.group(id);
    return toChange(
      await this.#runner.run('cancel-group', groupKeyList(k), [
        JSON.stringify(reason),
        k.events,
        this.keys.cancelChannel,
        id,
        epoch,
      ]),
    );
  }

  async cancelTask(id: string, index: number, reason: CancelReason, epoch = ''): Promise<CancelTaskResult> {
    const k = this.keys.group(id);
    const result = Number(
      await this.#runner.run('cancel-task', groupKeyList(k), [
        index,
        JSON.stringify(reason),
        k.events,
        this.keys.cancelChannel,
        id,
        epoch,
      ]),
    );
    switch (result) {
      case 1:
        return 'cancelled';
      case 2:
        return 'aborting';
      case 0:
        return 'noop';
      case -3:
        return 'no-such-task';
      default:
        return 'missing';
    }
  }

  /**
   * Renews the producer lease of groups it has not closed; one round trip for all of them. Each is
   * renewed only while its id holds that incarnation (epoch "" for any).
   */
  async renewLeases(groups: readonly GroupIncarnation[], leaseMs: number): Promise<void> {
    if (groups.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const { id, epoch } of groups) {
      this.#runner.queue(pipeline, 'renew-lease', [this.keys.group(id).meta], [leaseMs, epoch]);
    }
    await pipeline.exec();
  }

  async dueGroups(limit: number): Promise<string[]> {
    return (await this.#runner.run('due-groups', [this.keys.live], [limit])) as string[];
  }

  /** Runs maintenance on each group (deadline, lost producer, settling); one round trip. */
  async check(ids: readonly string[], recheckMs: number): Promise<GroupCheck[]> {
    const pipeline = this.#redis.pipeline();
    for (const id of ids) {
      const k = this.keys.group(id);
      this.#runner.queue(pipeline, 'check-group', groupKeyList(k), [
        k.events,
        this.keys.cancelChannel,
        id,
        recheckMs,
      ]);
    }
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [error, reply] = replies[i] ?? [null, null];
      if (error !== null || !Array.isArray(reply)) {
        const failure = error ?? new Error(`check-group replied ${String(reply)}`);
        return {
          id,
          state: undefined,
          nextCheckAt: 0,
          idleMs: 0,
          finished: false,
          error: KeyTypeError.wrap(failure, groupKeyList(this.keys.group(id))),
        };
      }
      return {
        id,
        state: toState(reply[0]),
        nextCheckAt: Number(reply[1]),
        idleMs: Number(reply[2]),
        finished: reply[3] === 1,
      };
    });
  }

  async status(id: string): Promise<GroupStatus | undefined> {
    const k = this.keys.group(id);
    const replies = await this.#redis.multi().hgetall(k.meta).hlen(k.run).exec();
    const failed = replies?.find(([error]) => error !== null)?.[0];
    if (failed) throw KeyTypeError.wrap(failed, [k.meta, k.run]);
    const meta = (replies?.[0]?.[1] ?? {}) as Record<string, string>;
    const running = Number(replies?.[1]?.[1] ?? 0);
    return parseStatus(id, meta, running);
  }

  /**
   * The status, and how long the group has made no progress (tasks added, started or finished), by Redis
   * time, read together: what the reconciler needs to tell a lost task from one whose job is on its way.
   */
  async statusAndIdle(id: string): Promise<{ status: GroupStatus; idleMs: number } | undefined> {
    const k = this.keys.group(id);
    const replies = await this.#redis.multi().hgetall(k.meta).hlen(k.run).time().exec();
    const failed = replies?.find(([error]) => error !== null)?.[0];
    if (failed) throw KeyTypeError.wrap(failed, [k.meta, k.run]);
    const meta = (replies?.[0]?.[1] ?? {}) as Record<string, string>;
    const status = parseStatus(id, meta, Number(replies?.[1]?.[1] ?? 0));
    if (status === undefined) return undefined;
    const [seconds = '0', micros = '0'] = (replies?.[2]?.[1] ?? []) as string[];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    return { status, idleMs: now - Number(meta.progressAt ?? 0) };
  }

  async state(id: string): Promise<GroupState | undefined> {
    return toState(await this.#redis.hget(this.keys.group(id).meta, 'state'));
  }

  /** Raw outcomes of tasks [from, from + count), in index order (null: no outcome stored). */
  async outcomes(id: string, from: number, count: number): Promise<(string | null)[]> {
    if (count <= 0) return [];
    const fields = Array.from({ length: count }, (_, i) => String(from + i));
    return this.#redis.hmget(this.keys.group(id).out, ...fields);
  }

  /** Raw outcomes of the given tasks. */
  async outcomesAt(id: string, indexes: readonly number[]): Promise<(string | null)[]> {
    if (indexes.length === 0) return [];
    return this.#redis.hmget(this.keys.group(id).out, ...indexes.map(String));
  }

  /** Indexes of the real failures, in the order they happened. */
  async failures(id: string): Promise<number[]> {
    return (await this.#redis.lrange(this.keys.group(id).fails, 0, -1)).map(Number);
  }

  /**
   * For groups with tasks running on this worker: the group state and reason, and the cancel requests
   * of those tasks. One round trip; the durable cancel path that needs no broadcast.
   */
  async cancelRequests(running: ReadonlyMap<string, readonly number[]>): Promise<CancelRequests[]> {
    const pipeline = this.#redis.pipeline();
    for (const [id, indexes] of running) {
      const k = this.keys.group(id);
      pipeline.hmget(k.meta, 'state', 'reason', 'stoppedAt');
      pipeline.hmget(k.cxl, ...indexes.map(String));
    }
    const replies = (await pipeline.exec()) ?? [];
    const result: CancelRequests[] = [];
    let at = 0;
    for (const [id, indexes] of running) {
      const [state, reason, stoppedAt] = (replies[at++]?.[1] ?? []) as (string | null)[];
      const taskReasons = (replies[at++]?.[1] ?? []) as (string | null)[];
      const tasks = new Map<number, string>();
      indexes.forEach((index, k) => {
        const taskReason = taskReasons[k];
        if (typeof taskReason === 'string') tasks.set(index, taskReason);
      });
      result.push({
        id,
        state: toState(state),
        reason: reason ?? undefined,
        stoppedAt: stoppedAt === null || stoppedAt === undefined ? undefined : Number(stoppedAt),
        tasks,
      });
    }
    return result;
  }

  /** Indexes running right now, with their run tokens. */
  async running(id: string): Promise<Record<string, string>> {
    return this.#redis.hgetall(this.keys.group(id).run);
  }
}

function groupKeyList(k: GroupKeys): string[] {
  return [k.meta, k.out, k.run, k.fails, k.cxl];
}

function toChange(reply: unknown): StateChange {
  const [state, finished] = Array.isArray(reply) ? reply : [];
  return { state: toState(state), finished: finished === 1 };
}

function toState(value: unknown): GroupState | undefined {
  return isGroupState(value) ? value : undefined;
}

function toDecision(reply: number | undefined): StartDecision {
  return reply === 1 ? 'run' : reply === 0 ? 'settled' : reply === 2 ? 'stopped' : 'missing';
}
