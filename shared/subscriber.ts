import type { RedisClient } from './connection.ts';
import { closeRedis } from './connection.ts';

type MessageListener = (message: string) => void;

/**
 * One pub/sub connection per process side, shared by every channel it listens to (a worker's cancel
 * channel, a producer's group event channels). ioredis re-subscribes after a reconnect; since a message
 * published while disconnected is lost, listeners are told about every reconnect so they can re-read
 * the durable state.
 */
export class Subscriber {
  /** Opens the subscriber connection (ioredis requires `maxRetriesPerRequest: null` semantics to wait out outages). */
  readonly #connect: () => RedisClient;
  readonly #channels = new Map<string, Set<MessageListener>>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #idleCloseMs: number | undefined;
  #redis: RedisClient | undefined;
  #wasReady = false;
  #idleTimer: NodeJS.Timeout | undefined;

  /**
   * @param idleCloseMs close the connection after this long without any subscription (it reopens on the
   *   next subscribe), so a process that waited once does not keep a connection, and its event loop, alive.
   */
  constructor(connect: () => RedisClient, idleCloseMs?: number) {
    this.#connect = connect;
    this.#idleCloseMs = idleCloseMs;
  }

  /** Resolves once Redis has confirmed the subscription; returns the unsubscribe function. */
  async subscribe(channel: string, listener: MessageListener): Promise<() => Promise<void>> {
    clearTimeout(this.#idleTimer);
    const redis = this.#connection();
    let listeners = this.#channels.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#channels.set(channel, listeners);
    }
    listeners.add(listener);
    await redis.subscribe(channel);
    return async () => {
      const current = this.#channels.get(channel);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.#channels.delete(channel);
      if (redis.status === 'ready') await redis.unsubscribe(channel).catch(() => undefined);
      if (this.#channels.size === 0 && this.#idleCloseMs !== undefined && this.#redis === redis) {
        this.#idleTimer = setTimeout(() => {
          if (this.#channels.size > 0 || this.#redis !== redis) return;
          this.#redis = undefined;
          this.#wasReady = false;
          void closeRedis(redis);
        }, this.#idleCloseMs);
        this.#idleTimer.unref();
      }
    };
  }

  /** Called after each reconnect, once the subscriptions are back. */
  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const redis = this.#redis;
    this.#redis = undefined;
    this.#channels.clear();
    this.#reconnectListeners.clear();
    if (redis !== undefined) await closeRedis(redis);
  }

  #connection(): RedisClient {
    if (this.#redis !== undefined) return this.#redis;
    const redis = this.#connect();
    redis.on('message', (channel: string, message: string) => {
      const listeners = this.#channels.get(channel);
      if (listeners === undefined) return;
      for (const listener of listeners) listener(message);
    });
    redis.on('ready', () => {
      if (!this.#wasReady) {
        this.#wasReady = true;
        return;
      }
      // ioredis re-subscribes on its own; subscribing again (harmless) tells us when Redis has confirmed.
      const channels = [...this.#channels.keys()];
      const confirmed = channels.length === 0 ? Promise.resolve(0) : redis.subscribe(...channels);
      confirmed.then(
        () => {
          for (const listener of this.#reconnectListeners) listener();
        },
        () => undefined,
      );
    });
    // Errors are retried by ioredis; without a listener Node would print them as unhandled.
    redis.on('error', () => undefined);
    this.#redis = redis;
    return redis;
  }
}
