import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is: a `redis://` / `rediss://` URL, a unix socket path, or ioredis options. */
export type ConnectionInput = string | RedisOptions;

/**
 * ioredis' constructor takes `RedisOptions & { replyMapping?: ReplyMapping }`, which a plain RedisOptions
 * does not satisfy under exactOptionalPropertyTypes (its replyMapping allows undefined).
 */
type ConstructorOptions = RedisOptions & { replyMapping?: never };

export interface ConnectionRole {
  /** Shown by `CLIENT LIST`, so an operator can tell taskfleet's connections apart. */
  readonly name: string;
  /**
   * `null` for connections that must wait out a Redis outage rather than fail (workers, subscribers);
   * BullMQ requires it for its blocking connection.
   */
  readonly maxRetriesPerRequest?: number | null;
}

export function createRedis(input: ConnectionInput, role: ConnectionRole): Redis {
  const overrides: RedisOptions = {
    connectionName: role.name,
    ...(role.maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest: role.maxRetriesPerRequest }),
  };
  return typeof input === 'string'
    ? new Redis(input, overrides as ConstructorOptions)
    : new Redis({ ...input, ...overrides } as ConstructorOptions);
}

/**
 * Closes a connection, waiting for replies already on the way; falls back to a hard disconnect. A
 * connection that is not up (still connecting, or retrying an unreachable server) is dropped at once:
 * QUIT would wait in its offline queue for a server that may never answer.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
