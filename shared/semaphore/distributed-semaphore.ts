import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Span } from '@opentelemetry/api';
import { z } from 'zod';
import { Batcher } from '../batcher.ts';
import { ChurnMap } from '../churn-map.ts';
import type { RedisClient } from '../connection.ts';
import { defaults } from '../defaults.ts';
import { ArgumentRangeError, LimitNotSetError, PermitLostError, SemaphoreTimeoutError } from '../errors.ts';
import { type SemaphoreKeys, semaphoreIndex, semaphoreKeys } from '../keys.ts';
import {
  durationMs,
  keyName,
  keyPrefix,
  nonNegativeInt,
  parseOptions,
  positiveInt,
  waitMs,
} from '../options.ts';
import type { Subscriber } from '../subscriber.ts';
import { instruments } from '../telemetry/metrics.ts';
import { Attr, Span as SpanName } from '../telemetry/names.ts';
import { traced } from '../telemetry/tracing.ts';
import {
  type AcquireReply,
  type AcquireRequest,
  type HolderEntry,
  SemaphoreScripts,
  type WaiterEntry,
  type WaitSummary,
} from './semaphore-scripts.ts';
import { subscriberFor } from './semaphore-subscriber.ts';

export interface DistributedSemaphoreOptions {
  /** The limit to set if the semaphore has none yet. The first limit given wins, fleet-wide; see setLimit(). */
  readonly limit?: number;
  /** A held permit's lease, renewed in the background (every leaseMs / 3) while held. Default 30 s. */
  readonly leaseMs?: number;
  /** Key prefix. Default `taskfleet`. */
  readonly prefix?: string;
  /** Expire the semaphore's keys after this long unused (default: never, so fencing tokens keep growing). */
  readonly idleTtlMs?: number;
  /** Told when the stored limit differs from `limit` (default: a process warning). The stored one applies. */
  readonly onLimitMismatch?: (stored: number, configured: number) => void;
  /** Who holds or waits, as status() shows it. Default `<host>:<pid>`. */
  readonly owner?: string;
  /** List the name in the semaphore index (`taskfleet sem ls`). Default true. */
  readonly listed?: boolean;
}

export interface SemaphoreAcquireOptions {
  /** Give up waiting (and leave the queue) when it aborts; rejects with its reason. */
  readonly signal?: AbortSignal;
  /** Give up after this many ms with SemaphoreTimeoutError. */
  readonly timeoutMs?: number;
  /** Permits to take at once (default 1); at most the limit. */
  readonly permits?: number;
}

/** Held permits. Release them, or `await using` them. */
export interface Permit extends AsyncDisposable {
  readonly semaphore: string;
  readonly permits: number;
  /**
   * Fencing token: grows with every grant of this semaphore. Pass it to a downstream store, which should
   * refuse writes carrying a smaller token than one it has seen (a holder whose lease silently ran out).
   */
  readonly token: number;
  /** Aborts with PermitLostError if the lease could not be kept: stop using what the permit protects. */
  readonly lost: AbortSignal;
  /** Gives the permits back. false if they were no longer held (released before, or the lease ran out). */
  release(): Promise<boolean>;
}

export interface SemaphoreStatus {
  readonly name: string;
  /** 0 if no limit was ever set. */
  readonly limit: number;
  /** Permits held now. */
  readonly used: number;
  readonly lastToken: number;
  readonly holders: readonly HolderEntry[];
  /** In the order they will be served. */
  readonly waiters: readonly WaiterEntry[];
  /** Redis time the status was read at (compare expiresAt with it). */
  readonly now: number;
  /** Grants that had to wait: how many, how long in all, the longest. */
  readonly waits: WaitSummary;
}

const optionsSchema = z.strictObject({
  limit: positiveInt().optional(),
  leaseMs: durationMs().default(defaults.semaphoreLeaseMs),
  prefix: keyPrefix().default(defaults.prefix),
  idleTtlMs: nonNegativeInt().default(0),
  onLimitMismatch: z
    .custom<(stored: number, configured: number) => void>((v) => typeof v === 'function')
    .optional(),
  owner: z.string().min(1).max(200).optional(),
  listed: z.boolean().default(true),
});

const acquireSchema = z.strictObject({
  signal: z
    .custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'expected an AbortSignal' })
    .optional(),
  timeoutMs: waitMs().optional(),
  permits: positiveInt().optional(),
});

const isCount = (value: unknown, min: number): boolean =>
  value === undefined || (Number.isInteger(value) && (value as number) >= min);

/** acquire() runs per permit: plain, valid options skip zod; anything else gets its full error message. */
function readAcquireOptions(options: SemaphoreAcquireOptions, label: string): SemaphoreAcquireOptions {
  if (typeof options !== 'object' || options === null) {
    return parseOptions(acquireSchema, options, label) as SemaphoreAcquireOptions;
  }
  const o = options as Record<string, unknown>;
  const known = Object.keys(o).every((key) => key === 'signal' || key === 'timeoutMs' || key === 'permits');
  if (
    known &&
    isCount(o.permits, 1) &&
    isCount(o.timeoutMs, 0) &&
    (o.timeoutMs === undefined || (o.timeoutMs as number) < 2 ** 31) &&
    (o.signal === undefined || o.signal instanceof AbortSignal)
  ) {
    return options;
  }
  return parseOptions(acquireSchema, options, label) as SemaphoreAcquireOptions;
}

/**
 * A busy instance's releases and acquires go out in batches of up to 200, a batch of 16 or more split
 * over the calls that may still go: a release's reply brings the grants that lead to the next releases,
 * so with one call per round Redis and this process would take turns, each idle while the other works.
 * Up to 4 calls on their way rather than 2: with grants crossing processes, a release less often waits
 * for a free slot (alternating runs: +14% bare in 4 processes, +6% in one; see README, Where the time goes).
 */
const BATCHING = { maxBatch: 200, maxInFlight: 4, splitAt: 8 } as const;

/** What goes into a batch: a holder id to release, or a request to acquire. */
type Call = string | AcquireRequest;

interface Waiter {
  readonly id: string;
  readonly permits: number;
  readonly settle: (token: number) => void;
  /** Rejects the acquire: Redis refused it while it waited (the limit was lowered below its permits). */
  readonly fail: (error: Error) => void;
  /** When its entry was last sent to Redis (queued or renewed): a grant's lease runs from there. */
  renewedAt: number;
}

/**
 * asyncio.Semaphore shared by every process: at most `limit` permits out at once across the fleet.
 * All logic runs in Lua scripts with Redis time; holders keep a lease (renewed while held) so a dead
 * holder's permits come back; waiters queue first come, first served and are woken by a message when
 * permits are handed to them, never by polling.
 *
 *   acquire ─▶ granted ─────────────────────────────▶ held ──release / lease runs out──▶ free
 *          └▶ queued ──(wake | renew finds it granted)─┘
 *                    └──abort / timeout──▶ left the queue (or released, if granted meanwhile)
 */
export class DistributedSemaphore {
  readonly name: string;
  readonly #redis: RedisClient;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #keys: SemaphoreKeys;
  readonly #scripts: SemaphoreScripts;
  /** Releases and acquires issued at the same moment go to Redis as one script call. */
  readonly #calls: Batcher<Call, AcquireReply | boolean>;
  readonly #subscriber: Subscriber;
  readonly #owner: string;
  /** Ids are `<prefix><n>`: unique to this instance, which the scripts tell apart from others by them. */
  readonly #idPrefix = `${randomUUID().slice(0, 13)}:`;
  #ids = 0;
  // Not Maps: see churn-map.ts (a Map of entries coming and going kept every request alive through
  // each minor GC until the next full one).
  readonly #waiters = new ChurnMap<Waiter>();
  readonly #held = new ChurnMap<HeldPermit>();
  #unsubscribe: Promise<() => Promise<void>> | undefined;
  #offReconnect: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #expiryCheck: NodeJS.Timeout | undefined;
  #expiryDue = 0;
  #renewing = false;
  #mismatchReported = false;
  #listed = false;

  constructor(redis: RedisClient, semaphoreName: string, options: DistributedSemaphoreOptions = {}) {
    this.name = parseOptions(keyName('semaphore name'), semaphoreName, 'semaphore name');
    this.#options = parseOptions(optionsSchema, options, 'DistributedSemaphore options');
    this.#redis = redis;
    this.#keys = semaphoreKeys(this.#options.prefix, this.name);
    this.#scripts = new SemaphoreScripts(redis, this.#keys);
    this.#calls = new Batcher(async (calls) => {
      const releases: string[] = [];
      const requests: AcquireRequest[] = [];
      for (const call of calls) {
        if (typeof call === 'string') releases.push(call);
        else requests.push(call);
      }
      const { released, acquired, grants } = await this.#scripts.releaseAndAcquire(
        this.#batch(),
        releases,
        requests,
      );
      this.#granted(grants);
      let r = 0;
      let a = 0;
      return calls.map((call) =>
        typeof call === 'string' ? (released[r++] ?? false) : (acquired[a++] as AcquireReply),
      );
    }, BATCHING);
    this.#subscriber = subscriberFor(redis);
    this.#owner = this.#options.owner ?? `${hostname()}:${process.pid}`;
  }

  /** Waits for permits (first come, first served) and returns them, held under a renewed lease. */
  async acquire(options: SemaphoreAcquireOptions = {}): Promise<Permit> {
    const { signal, timeoutMs, permits = 1 } = readAcquireOptions(options, 'acquire options');
    signal?.throwIfAborted();
    const started = performance.now();
    let outcome = 'acquired';
    try {
      return await traced(
        SpanName.semaphoreAcquire,
        { [Attr.semaphoreName]: this.name, [Attr.semaphorePermits]: permits },
        async (span) => {
          try {
            return await this.#acquire(span, permits, signal, timeoutMs);
          } finally {
            span.setAttribute(Attr.semaphoreWaitMs, performance.now() - started);
          }
        },
      );
    } catch (error) {
      outcome = error instanceof SemaphoreTimeoutError ? 'timeout' : signal?.aborted ? 'aborted' : 'error';
      throw error;
    } finally {
      instruments().semaphoreWait.record((performance.now() - started) / 1000, {
        [Attr.semaphoreName]: this.name,
        [Attr.semaphoreOutcome]: outcome,
      });
    }
  }

  async #acquire(span: Span, permits: number, signal?: AbortSignal, timeoutMs?: number): Promise<Permit> {
    const id = this.#nextId();
    const startedAt = performance.now();
    let settle: (token: number) => void = () => undefined;
    let fail: (error: Error) => void = () => undefined;
    const granted = new Promise<number>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    // A refusal may come before anything awaits the grant; it is handled where the grant is awaited.
    granted.catch(() => undefined);
    const waiter: Waiter = { id, permits, settle, fail, renewedAt: 0 };
    this.#waiters.set(id, waiter);
    try {
      // Listening before queueing: a wake cannot slip between the two.
      await this.#listen();
      signal?.throwIfAborted();
      const sentAt = performance.now();
      waiter.renewedAt = sentAt;
      const reply = await this.#submitAcquire({ id, permits, wait: true });
      if ('limit' in reply) span.setAttribute(Attr.semaphoreLimit, reply.limit);
      let permit: Permit;
      if (reply.kind === 'queued') {
        span.setAttribute(Attr.semaphoreQueuePosition, reply.position);
        this.#checkLimit(reply.limit);
        this.#startHeartbeat();
        this.#scheduleExpiryCheck(reply.msToNextExpiry);
        const token = await this.#waitForGrant(id, granted, signal, timeoutMs, startedAt);
        // Redis let the lease run from the entry's last renewal (a dead waiter gets no fresh lease).
        permit = this.#hold(id, permits, token, waiter.renewedAt);
      } else {
        span.setAttribute(Attr.semaphoreQueuePosition, 0);
        permit = this.#hold(id, permits, this.#grantedToken(reply, permits), sentAt);
      }
      // Aborted while the grant was on its way (asyncio.Semaphore does the same): give it back.
      if (signal?.aborted) {
        await permit.release();
        signal.throwIfAborted();
      }
      return permit;
    } finally {
      this.#waiters.delete(id);
      this.#stopIfIdle();
    }
  }

  /** Takes permits only if they are free now and nobody is queued; never waits. */
  async tryAcquire(options: { readonly permits?: number } = {}): Promise<Permit | undefined> {
    const { permits = 1 } = readAcquireOptions(options, 'tryAcquire options');
    const id = this.#nextId();
    const sentAt = performance.now();
    const reply = await this.#submitAcquire({ id, permits, wait: false });
    if (reply.kind === 'unavailable') {
      this.#checkLimit(reply.limit);
      return undefined;
    }
    return this.#hold(id, permits, this.#grantedToken(reply, permits), sentAt);
  }

  /**
   * Changes the limit for the whole fleet at run time. Raising it serves waiters at once; lowering it
   * revokes nothing but admits nobody until holders are under the new limit. Returns the previous limit
   * and the last fencing token issued under it.
   */
  async setLimit(limit: number): Promise<{ previous: number; lastToken: number }> {
    const checked = parseOptions(positiveInt(), limit, 'limit');
    await this.#list();
    return this.#scripts.setLimit(checked);
  }

  /** Limit, holders (owner, permits, token, lease expiry) and waiters in order, for dashboards and the CLI. */
  async status(): Promise<SemaphoreStatus> {
    return { name: this.name, ...(await this.#scripts.status()) };
  }

  /**
   * Compares the limit this process was configured with against the one in force in Redis, and reports
   * a mismatch (`onLimitMismatch`, else a process warning) — at startup, rather than at the first
   * acquire, which may never come. A semaphore with no limit yet gets this process's at its first use.
   */
  async checkLimit(): Promise<void> {
    const { limit } = await this.#scripts.status();
    if (limit > 0) this.#checkLimit(limit);
  }

  /** Whether this instance holds permits or has waiters right now. */
  get busy(): boolean {
    return this.#held.size > 0 || this.#waiters.size > 0;
  }

  /** Permits this instance holds right now. */
  get heldPermits(): number {
    let n = 0;
    for (const permit of this.#held.values()) n += permit.permits;
    return n;
  }

  /** Releases what this instance still holds and stops its timers. */
  async close(): Promise<void> {
    await Promise.all(this.#held.values().map((permit) => permit.release()));
    this.#stopIfIdle();
  }

  #nextId(): string {
    return `${this.#idPrefix}${++this.#ids}`;
  }

  #batch() {
    return {
      leaseMs: this.#options.leaseMs,
      owner: this.#owner,
      idPrefix: this.#idPrefix,
      limit: this.#options.limit,
      waiterTtlMs: this.#options.leaseMs,
      idleTtlMs: this.#options.idleTtlMs,
    };
  }

  #grantedToken(reply: AcquireReply, permits: number): number {
    if (reply.kind === 'no-limit') throw new LimitNotSetError(this.name);
    this.#checkLimit(reply.limit);
    if (reply.kind === 'over-limit') throw this.#tooMany(permits, reply.limit);
    if (reply.kind !== 'granted') throw new Error(`unexpected acquire reply ${reply.kind}`);
    void this.#list();
    return reply.token;
  }

  async #waitForGrant(
    id: string,
    granted: Promise<number>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    startedAt: number,
  ): Promise<number> {
    if (signal === undefined && timeoutMs === undefined) return granted;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const gaveUp = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal?.reason);
      // Aborted while the request was on its way: the event has fired already.
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        // The timeout counts from acquire(), round trips included.
        timer = setTimeout(
          () => reject(new SemaphoreTimeoutError(this.name, timeoutMs)),
          Math.max(0, startedAt + timeoutMs - performance.now()),
        );
      }
    });
    try {
      return await Promise.race([granted, gaveUp]);
    } catch (error) {
      // Leave the queue; if the permits were granted at the same moment, they are given back.
      this.#waiters.delete(id);
      await this.#scripts.cancel(id);
      throw error;
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  #submitAcquire(request: AcquireRequest): Promise<AcquireReply> {
    return this.#calls.submit(request) as Promise<AcquireReply>;
  }

  #hold(id: string, permits: number, token: number, grantedAt: number): Permit {
    const permit = new HeldPermit(
      this.name,
      id,
      permits,
      token,
      grantedAt,
      this.#options.leaseMs,
      async (send) => {
        this.#held.delete(id);
        this.#stopIfIdle();
        return send ? (this.#calls.submit(id) as Promise<boolean>) : false;
      },
    );
    this.#held.set(id, permit);
    this.#startHeartbeat();
    return permit;
  }

  #checkLimit(stored: number): void {
    const configured = this.#options.limit;
    if (configured === undefined || stored === configured || this.#mismatchReported) return;
    this.#mismatchReported = true;
    if (this.#options.onLimitMismatch !== undefined) this.#options.onLimitMismatch(stored, configured);
    else {
      process.emitWarning(
        `Semaphore \`${this.name}\` has limit ${stored} in Redis; this process was configured with ${configured}. The stored limit applies (change it with setLimit).`,
        { code: 'TASKFLEET_LIMIT_MISMATCH' },
      );
    }
  }

  async #list(): Promise<void> {
    if (this.#listed || !this.#options.listed) return;
    this.#listed = true;
    await this.#redis.sadd(semaphoreIndex(this.#options.prefix), this.name).catch(() => {
      this.#listed = false;
    });
  }

  async #listen(): Promise<void> {
    this.#unsubscribe ??= this.#subscriber.subscribe(this.#keys.wakeOf(this.#owner), (message) =>
      this.#onWake(message),
    );
    this.#offReconnect ??= this.#subscriber.onReconnect(() => void this.#renew());
    await this.#unsubscribe;
  }

  /** A wake message, "<id>=<token> ...": grants to this process's waiters (see #granted). */
  #onWake(message: string): void {
    this.#granted(message.split(' '));
  }

  /** "<id>=<token>" each: grants to this process's waiters; token 0 means refused (see #tooMany). */
  #granted(grants: readonly string[]): void {
    for (const grant of grants) {
      const at = grant.lastIndexOf('=');
      const waiter = this.#waiters.get(grant.slice(0, at));
      const token = Number(grant.slice(at + 1));
      if (waiter === undefined) continue;
      if (token > 0) waiter.settle(token);
      else waiter.fail(this.#tooMany(waiter.permits, undefined));
    }
  }

  /** A request for more permits than the limit: refused at once, or when the limit drops below it. */
  #tooMany(permits: number, limit: number | undefined): ArgumentRangeError {
    const than = limit === undefined ? 'the limit' : `the limit of ${limit}`;
    return new ArgumentRangeError(`Invalid \`permits\`: ${permits} is more than ${than} of \`${this.name}\``);
  }

  /** Expired leases free permits without a release: look again when the earliest one runs out. */
  #scheduleExpiryCheck(ms: number): void {
    if (ms < 0 || this.#waiters.size === 0) return;
    const due = performance.now() + ms + 1;
    // Leases are renewed, so the check usually finds nothing: keep one timer, moved only earlier.
    if (this.#expiryCheck !== undefined && this.#expiryDue <= due) return;
    clearTimeout(this.#expiryCheck);
    this.#expiryDue = due;
    this.#expiryCheck = setTimeout(() => {
      this.#expiryCheck = undefined;
      void this.#renew();
    }, ms + 1);
    this.#expiryCheck.unref();
  }

  #startHeartbeat(): void {
    if (this.#heartbeat !== undefined) return;
    this.#heartbeat = setInterval(
      () => void this.#renew(),
      Math.max(10, Math.floor(this.#options.leaseMs / 3)),
    );
    // Holding a permit does not keep a process alive: if it ends, the lease gives the permits back.
    this.#heartbeat.unref();
  }

  #stopIfIdle(): void {
    if (this.#held.size > 0 || this.#waiters.size > 0) return;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#expiryCheck);
    this.#heartbeat = undefined;
    this.#expiryCheck = undefined;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = undefined;
    this.#offReconnect?.();
    this.#offReconnect = undefined;
    void unsubscribe?.then((off) => off()).catch(() => undefined);
  }

  /** Heartbeat: renews held leases and waiter entries; learns of grants whose wake was missed. */
  async #renew(): Promise<void> {
    if (this.#renewing) return;
    const holders = this.#held.keys();
    const waiters = this.#waiters.keys();
    if (holders.length === 0 && waiters.length === 0) return;
    this.#renewing = true;
    try {
      const { leaseMs, idleTtlMs } = this.#options;
      const sentAt = performance.now();
      const reply = await this.#scripts.renew(holders, waiters, leaseMs, leaseMs, idleTtlMs);
      holders.forEach((id, k) => {
        const permit = this.#held.get(id);
        if (permit === undefined) return;
        if (reply.held[k]) permit.renewed(sentAt);
        else permit.lose('its lease ran out before it could be renewed', false);
      });
      for (const [k, id] of waiters.entries()) {
        const state = reply.waiting[k] ?? 0;
        const waiter = this.#waiters.get(id);
        if (waiter === undefined) continue;
        // Queued still, or granted: either way Redis counts its lease from this renewal.
        if (state >= 0) waiter.renewedAt = sentAt;
        if (state > 0) waiter.settle(state);
        // Its entry ran out (this process was stalled), or it was refused: queue again, at the back.
        else if (state === -1) await this.#requeue(waiter);
      }
      this.#scheduleExpiryCheck(reply.msToNextExpiry);
    } catch {
      // Redis unreachable: each permit's own timer gives it up before its lease can run out in Redis.
    } finally {
      this.#renewing = false;
    }
  }

  /** Queues a waiter whose entry Redis no longer has again, and acts on the reply like acquire() does. */
  async #requeue(waiter: Waiter): Promise<void> {
    waiter.renewedAt = performance.now();
    const reply = await this.#submitAcquire({ id: waiter.id, permits: waiter.permits, wait: true });
    if (this.#waiters.get(waiter.id) !== waiter) {
      // It gave up while the request was on its way, and its cancel found nothing: leave again.
      await this.#scripts.cancel(waiter.id);
      return;
    }
    if (reply.kind === 'granted') waiter.settle(reply.token);
    else if (reply.kind === 'over-limit') waiter.fail(this.#tooMany(waiter.permits, reply.limit));
    else if (reply.kind === 'no-limit') waiter.fail(new LimitNotSetError(this.name));
  }
}

class HeldPermit implements Permit {
  readonly semaphore: string;
  readonly id: string;
  readonly permits: number;
  readonly token: number;
  /** Made when someone looks at `lost` (or when it is lost): most permits are never watched. */
  #lost: AbortController | undefined;
  /** Forgets the permit here and, if `send`, gives it back in Redis. */
  readonly #release: (send: boolean) => Promise<boolean>;
  readonly #leaseMs: number;
  #renewedAt: number;
  /** Fires when the lease may run out in Redis soon, unless a renewal moves it on. */
  #lossTimer: NodeJS.Timeout | undefined;
  #released = false;

  constructor(
    semaphore: string,
    id: string,
    permits: number,
    token: number,
    grantedAt: number,
    leaseMs: number,
    release: (send: boolean) => Promise<boolean>,
  ) {
    this.#renewedAt = grantedAt;
    this.#leaseMs = leaseMs;
    this.semaphore = semaphore;
    this.id = id;
    this.permits = permits;
    this.token = token;
    this.#release = release;
    this.#armLossTimer();
  }

  get lost(): AbortSignal {
    this.#lost ??= new AbortController();
    return this.#lost.signal;
  }

  /** `at`: when the renewal was sent; Redis extended the lease no earlier than that. */
  renewed(at: number): void {
    this.#renewedAt = Math.max(this.#renewedAt, at);
    this.#armLossTimer();
  }

  /**
   * `held`: whether Redis may still count it (Redis unreachable) or has dropped it already. Nobody may
   * count on a lost permit, so it is not renewed any more, and given back at once if Redis still has it;
   * a later release() says false.
   */
  lose(why: string, held = true): void {
    clearTimeout(this.#lossTimer);
    this.#lost ??= new AbortController();
    if (!this.#lost.signal.aborted) this.#lost.abort(new PermitLostError(this.semaphore, why));
    if (this.#released) return;
    this.#released = true;
    void this.#release(held).catch(() => false);
  }

  async release(): Promise<boolean> {
    if (this.#released) return false;
    this.#released = true;
    clearTimeout(this.#lossTimer);
    return this.#release(true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /**
   * A holder gives up a margin before its lease can run out in Redis (by the local clock), so two
   * holders never both believe they hold the permits. A timer of its own, not the renewal beat: beats
   * come every leaseMs / 3, and the third one after the last renewal lands right at the lease's end.
   */
  #armLossTimer(): void {
    clearTimeout(this.#lossTimer);
    if (this.#released || this.#lost?.signal.aborted === true) return;
    const margin = Math.min(1000, this.#leaseMs / 10);
    const dueIn = this.#renewedAt + this.#leaseMs - margin - performance.now();
    this.#lossTimer = setTimeout(
      () => this.lose(`its lease (${this.#leaseMs} ms) could not be renewed: Redis did not answer in time`),
      Math.max(0, dueIn),
    );
    // Holding a permit does not keep a process alive (see the heartbeat).
    this.#lossTimer.unref();
  }
}
