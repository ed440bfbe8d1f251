import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from '../connection.ts';
import type { SemaphoreKeys } from '../keys.ts';
import { loadScripts, ScriptRunner } from '../lua-scripts.ts';

const SCRIPTS = loadScripts(dirname(fileURLToPath(import.meta.url)));

export type AcquireReply =
  | { readonly kind: 'granted'; readonly token: number; readonly limit: number }
  | { readonly kind: 'unavailable'; readonly limit: number }
  | {
      readonly kind: 'queued';
      readonly position: number;
      readonly msToNextExpiry: number;
      readonly limit: number;
    }
  | { readonly kind: 'over-limit'; readonly limit: number }
  | { readonly kind: 'no-limit' };

/** What every request of an acquire batch shares (one process, one semaphore instance). */
export interface AcquireBatch {
  readonly leaseMs: number;
  readonly owner: string;
  /**
   * Starts every id this instance makes. Grants to those ids come back in the reply; grants to any
   * other instance's waiters are published, even to one with the same owner.
   */
  readonly idPrefix: string;
  /** Set if the semaphore has no limit yet. */
  readonly limit: number | undefined;
  readonly waiterTtlMs: number;
  readonly idleTtlMs: number;
}

export interface AcquireRequest {
  readonly id: string;
  readonly permits: number;
  /** Queue if not available (acquire), or only try (tryAcquire). */
  readonly wait: boolean;
}

export interface RenewReply {
  /** -1 when nobody holds a permit. */
  readonly msToNextExpiry: number;
  /** Per holder id: still held (renewed)? */
  readonly held: readonly boolean[];
  /** Per waiter id: 0 still queued, -1 gone, else the fencing token it was granted. */
  readonly waiting: readonly number[];
}

export interface HolderEntry {
  readonly id: string;
  readonly owner: string;
  readonly permits: number;
  readonly token: number;
  /** Redis time, ms. */
  readonly since: number;
  readonly expiresAt: number;
}

export interface WaiterEntry {
  readonly id: string;
  readonly owner: string;
  readonly permits: number;
  readonly since: number;
  /** When the entry expires unless its process renews it. */
  readonly expiresAt: number;
}

export interface StatusReply {
  readonly now: number;
  /** 0 if none was set. */
  readonly limit: number;
  readonly used: number;
  /** The last fencing token issued. */
  readonly lastToken: number;
  readonly holders: readonly HolderEntry[];
  /** In queue order. */
  readonly waiters: readonly WaiterEntry[];
  /** Grants that had to wait, since the semaphore was created. */
  readonly waits: WaitSummary;
}

/** How long grants that had to queue waited (grants served at once are not counted). */
export interface WaitSummary {
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
}

/** Typed calls of the semaphore Lua scripts (this folder's `.lua` files) for one semaphore. */
export class SemaphoreScripts {
  readonly #runner: ScriptRunner;
  readonly #keys: SemaphoreKeys;

  constructor(redis: RedisClient, keys: SemaphoreKeys) {
    this.#runner = new ScriptRunner(redis, SCRIPTS);
    this.#keys = keys;
  }

  /**
   * One script call for a process's batch: first the releases (per id, whether it was still held), then
   * the acquires, served in order. `grants`: what the releases handed to this process's earlier waiters,
   * as "<id>=<token>" (the wake message's form; other processes' waiters hear it on their channel).
   */
  async releaseAndAcquire(
    batch: AcquireBatch,
    releases: readonly string[],
    requests: readonly AcquireRequest[],
  ): Promise<{ released: boolean[]; acquired: AcquireReply[]; grants: string[] }> {
    const args: (string | number)[] = [
      batch.leaseMs,
      batch.owner,
      batch.limit === undefined ? '' : batch.limit,
      batch.waiterTtlMs,
      this.#keys.wake,
      batch.idleTtlMs,
      batch.idPrefix,
      releases.length,
      ...releases,
    ];
    for (const r of requests) args.push(r.id, r.permits, r.wait ? 1 : 0);
    // One string of space-separated fields (see the script's header), not an array: ioredis decodes an
    // array reply element by element, at several times the cost of one split.
    const reply = String(await this.#runner.run('release-and-acquire', this.#keys.list, args)).split(' ');
    const limit = Number(reply[0] ?? 0);
    const msToNextExpiry = Number(reply[1] ?? -1);
    const offset = 2 + releases.length;
    return {
      grants: reply.slice(offset + 2 * requests.length),
      released: releases.map((_id, k) => reply[2 + k] === '1'),
      acquired: requests.map((_r, k): AcquireReply => {
        const code = Number(reply[offset + 2 * k] ?? -2);
        const value = Number(reply[offset + 2 * k + 1] ?? 0);
        switch (code) {
          case 1:
            return { kind: 'granted', token: value, limit };
          case 0:
            return { kind: 'unavailable', limit };
          case 2:
            return { kind: 'queued', position: value, msToNextExpiry, limit };
          case -1:
            return { kind: 'over-limit', limit };
          default:
            return { kind: 'no-limit' };
        }
      }),
    };
  }

  /** 'left' the queue, 'released' (it had just been granted), or 'gone'. */
  async cancel(id: string): Promise<'left' | 'released' | 'gone'> {
    const result = Number(await this.#runner.run('cancel', this.#keys.list, [id, this.#keys.wake]));
    return result === 1 ? 'left' : result === 2 ? 'released' : 'gone';
  }

  async renew(
    holders: readonly string[],
    waiters: readonly string[],
    leaseMs: number,
    waiterTtlMs: number,
    idleTtlMs: number,
  ): Promise<RenewReply> {
    const reply = (await this.#runner.run('renew', this.#keys.list, [
      leaseMs,
      waiterTtlMs,
      this.#keys.wake,
      idleTtlMs,
      holders.length,
      ...holders,
      ...waiters,
    ])) as number[];
    return {
      msToNextExpiry: reply[0] ?? -1,
      held: reply.slice(1, 1 + holders.length).map((r) => r === 1),
      waiting: reply.slice(1 + holders.length),
    };
  }

  async setLimit(limit: number): Promise<{ previous: number; lastToken: number }> {
    const [previous = 0, lastToken = 0] = (await this.#runner.run('set-limit', this.#keys.list, [
      limit,
      this.#keys.wake,
    ])) as number[];
    return { previous, lastToken };
  }

  async status(): Promise<StatusReply> {
    const [now, limit, used, lastToken, holders, waiters, waits] = (await this.#runner.run(
      'status',
      this.#keys.list,
      [this.#keys.wake],
    )) as [number, number, number, number, string[], string[], number[]];
    const [count = 0, totalMs = 0, maxMs = 0] = waits;
    return {
      now,
      limit,
      used,
      lastToken,
      waits: { count, totalMs, maxMs },
      holders: rows(holders, 3).map(([id = '', entry = '', expiresAt = '0']) => {
        const [, permits = '0', token = '0', since = '0', , owner = ''] =
          /^h (\d+) (\d+) (\d+) (\d+) (.*)$/.exec(entry) ?? [];
        return {
          id,
          owner,
          permits: Number(permits),
          token: Number(token),
          since: Number(since),
          expiresAt: Number(expiresAt),
        };
      }),
      waiters: rows(waiters, 2).map(([id = '', entry = '']) => {
        const [, permits = '0', , since = '0', expiresAt = '0', owner = ''] =
          /^w (\d+) (\d+) (\d+) (\d+) (.*)$/.exec(entry) ?? [];
        return { id, owner, permits: Number(permits), since: Number(since), expiresAt: Number(expiresAt) };
      }),
    };
  }
}

function rows(flat: readonly string[], width: number): string[][] {
  const result: string[][] = [];
  for (let i = 0; i + width <= flat.length; i += width) result.push(flat.slice(i, i + width));
  return result;
}
