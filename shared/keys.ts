/**
 * Every Redis key and pub/sub channel taskfleet uses is spelled here, and nowhere else.
 *
 * Layout, for prefix `p` and queue `q`:
 *   p:q:<bullmq keys>            BullMQ's own (wait, active, job hashes ...), built by BullMQ
 *   p:q:g:{<group>}:meta         group state (hash)
 *   p:q:g:{<group>}:out          settled outcomes, index -> encoded outcome (hash)
 *   p:q:g:{<group>}:run          running tasks, index -> run token (hash)
 *   p:q:g:{<group>}:fails        indexes of real failures, in order (list)
 *   p:q:g:{<group>}:cxl          cancel requests for running tasks, index -> reason (hash)
 *   p:q:g:{<group>}:adds         recent add-tasks replies, request id -> first index (hash, expires)
 *   p:q:groups                   every group, scored by creation time (zset)
 *   p:q:live                     groups not yet final, scored by when maintenance should look (zset)
 *   p:q:maint                    maintenance lock (string)
 *   p:q:workers                  worker heartbeats: worker id -> last beat (zset, pruned by readers)
 *   p:q:worker:<id>              one worker's heartbeat, JSON, expiring unless renewed (string)
 *
 * Redis Cluster: all keys of one group share the `{<group>}` hash tag, so every group script runs in
 * one slot. On a cluster the prefix must carry a hash tag itself (BullMQ needs one; options.ts refuses
 * a prefix without): that tag comes first and wins, so every key of a queue, groups included, lives in
 * one slot, and pipelines mixing a group's keys with the queue's (create, maintenance) stay legal.
 * BullMQ job ids cannot contain `:`, so `g:...`, `groups`, `live`, `maint`, `workers` and `worker:...` never
 * collide with a job key (a worker id is URI-encoded, so it never ends in one of BullMQ's `:lock`, `:logs` ...).
 *
 * Semaphores are not per queue (a limit like "api.example: 10" holds for the whole fleet). With `s` the
 * prefix without its braces (`{taskfleet}` -> `taskfleet`):
 *   s:sem:{<name>}:meta|holders|info|waiters   one semaphore, all in one hash slot
 *   s:sem:{<name>}:wake:<owner>                            pub/sub: which of that process's waiters were just granted
 *   s:semaphores                                           the names of the named semaphores (set)
 * The name is URI-encoded in keys, so `{`, `}`, `:` or spaces in it cannot move it to another slot.
 * The prefix's braces are dropped so its hash tag does not win: on a cluster each semaphore hashes by
 * its own name, and semaphores spread over the shards instead of crowding their queue's. No script or
 * transaction touches a semaphore together with a queue's keys, so nothing needs them in one slot.
 */

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/** Group ids and queue names are spelled into keys and channels: only this safe alphabet is allowed. */
export function isSafeId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export interface GroupKeys {
  readonly meta: string;
  readonly out: string;
  readonly run: string;
  readonly fails: string;
  readonly cxl: string;
  /** Recent add-tasks replies, so a resent add-tasks allocates nothing twice (see add-tasks-2.lua). */
  readonly adds: string;
  /** Pub/sub channel for this group's state changes (stopping, final). */
  readonly events: string;
}

export class QueueKeys {
  readonly prefix: string;
  readonly queue: string;
  readonly base: string;

  constructor(prefix: string, queue: string) {
    this.prefix = prefix;
    this.queue = queue;
    this.base = `${prefix}:${queue}`;
  }

  group(groupId: string): GroupKeys {
    const g = `${this.base}:g:{${groupId}}`;
    return {
      meta: `${g}:meta`,
      out: `${g}:out`,
      run: `${g}:run`,
      fails: `${g}:fails`,
      cxl: `${g}:cxl`,
      adds: `${g}:adds`,
      events: `${g}:events`,
    };
  }

  get groups(): string {
    return `${this.base}:groups`;
  }

  get live(): string {
    return `${this.base}:live`;
  }

  get maintenanceLock(): string {
    return `${this.base}:maint`;
  }

  /** Live workers of the queue: id -> time of its last beat (its own clock; only for ordering). */
  get workers(): string {
    return `${this.base}:workers`;
  }

  /** One worker's heartbeat; it expires unless the worker renews it, so a dead worker drops off. */
  worker(workerId: string): string {
    return `${this.base}:worker:${encodeURIComponent(workerId)}`;
  }

  /** Broadcast of cancellations (group or single task) to every worker of the queue. */
  get cancelChannel(): string {
    return `${this.base}:cancel`;
  }

  /** The BullMQ job hash of a task, read by the reconciler to tell whether a job still exists. */
  job(jobId: string): string {
    return `${this.base}:${jobId}`;
  }
}

/**
 * BullMQ job id of a task: `<group>.<epoch>.<index>`, `.` because BullMQ rejects `:` in custom ids.
 * The epoch (random, chosen when the group is made) keeps ids unique when a group id is reused after
 * its retention: BullMQ silently drops a job whose id it still holds, which would hang the new group.
 */
export function taskJobId(groupId: string, epoch: string, index: number): string {
  return `${groupId}.${epoch}.${index}`;
}

/** The group, epoch and index a task's job id names; undefined for a job that is not a task's. */
export function parseTaskJobId(
  jobId: string | undefined,
): { groupId: string; epoch: string; index: number } | undefined {
  if (jobId === undefined) return undefined;
  const last = jobId.lastIndexOf('.');
  const before = jobId.lastIndexOf('.', last - 1);
  if (last < 0 || before <= 0) return undefined;
  const index = Number(jobId.slice(last + 1));
  const groupId = jobId.slice(0, before);
  if (!Number.isInteger(index) || index < 0 || !isSafeId(groupId)) return undefined;
  return { groupId, epoch: jobId.slice(before + 1, last), index };
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `length` random characters of [0-9a-z] (unbiased: bytes past the last whole multiple of 36 are skipped). */
function randomId(length: number): string {
  let id = '';
  while (id.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 252 && id.length < length) id += ALPHABET[byte % 36];
    }
  }
  return id;
}

/**
 * A new group's id when the producer gives none: 16 characters of [0-9a-z] (82 bits). Short on
 * purpose: it is part of every job id and key of the group, which Redis stores and compares per task
 * (a UUID cost BullMQ itself ~7% of its throughput in bench:groups). A collision is refused by
 * create-group (DuplicateGroupError), never merged.
 */
export function newGroupId(): string {
  return randomId(16);
}

/** A group incarnation: part of its job ids, so a group id used again never meets an old job. */
export function newEpoch(): string {
  return randomId(6);
}

/** Names one add-tasks call, so that the same call resent after a lost reply is answered, not re-run. */
export function newRequestId(): string {
  return randomId(12);
}

export interface SemaphoreKeys {
  /** The four keys every semaphore script takes, in their KEYS order. */
  readonly list: readonly [string, string, string, string];
  readonly meta: string;
  /** Pub/sub channels' prefix: the scripts add `:<owner>` of the waiters they grant. */
  readonly wake: string;
  /** One process's (owner's) channel: "<waiter id>=<token> ..." for each grant to its waiters. */
  wakeOf(owner: string): string;
}

/** The prefix of semaphore keys: the key prefix without the hash tag's braces (see the top). */
function semaphoreNamespace(prefix: string): string {
  return prefix.replace(/[{}]/g, '');
}

export function semaphoreKeys(prefix: string, name: string): SemaphoreKeys {
  const s = `${semaphoreNamespace(prefix)}:sem:{${encodeURIComponent(name)}}`;
  return {
    list: [`${s}:meta`, `${s}:holders`, `${s}:info`, `${s}:waiters`],
    meta: `${s}:meta`,
    wake: `${s}:wake`,
    wakeOf: (owner) => `${s}:wake:${owner}`,
  };
}

/** The set of named semaphores (what `taskfleet sem ls` lists). */
export function semaphoreIndex(prefix: string): string {
  return `${semaphoreNamespace(prefix)}:semaphores`;
}
