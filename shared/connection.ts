import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  type ClusterConnection,
  createCluster,
  duplicateCluster,
  isClusterConnection,
  isClusterUrl,
  parseClusterUrl,
} from './cluster-connection.ts';
import { releasePipelines } from './pipeline-release.ts';

/**
 * Where Redis is: a `redis://` / `rediss://` URL, a unix socket path, ioredis options, or a Redis
 * Cluster (`{ cluster: nodes, options? }`, or a `redis+cluster://host:port,host:port` URL).
 */
export type ConnectionInput = string | RedisOptions | ClusterConnection;

/** A connection to one Redis or to a Redis Cluster: both run the same commands, scripts and pub/sub. */
export type RedisClient = Redis | Cluster;

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

/** The input as a cluster, if it names one (a malformed `redis+cluster://` URL is refused by options.ts). */
export function clusterOf(input: ConnectionInput): ClusterConnection | undefined {
  if (typeof input === 'string') return isClusterUrl(input) ? parseClusterUrl(input) : undefined;
  return isClusterConnection(input) ? input : undefined;
}

function roleOptions(role: ConnectionRole): RedisOptions {
  return {
    connectionName: role.name,
    ...(role.maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest: role.maxRetriesPerRequest }),
  };
}

/** A connection of taskfleet's own; its pipelines let go of their commands once answered (see pipeline-release.ts). */
export function createRedis(input: ConnectionInput, role: ConnectionRole): RedisClient {
  const overrides = roleOptions(role);
  const cluster = clusterOf(input);
  if (cluster !== undefined) return releasePipelines(createCluster(cluster, overrides));
  return releasePipelines(
    typeof input === 'string'
      ? new Redis(input, overrides as ConstructorOptions)
      : new Redis({ ...input, ...overrides } as ConstructorOptions),
  );
}

/** Another connection to the same Redis or cluster, for another role. */
export function duplicateRedis(redis: RedisClient, role: ConnectionRole): RedisClient {
  const overrides = roleOptions(role);
  return redis instanceof Redis ? redis.duplicate(overrides) : duplicateCluster(redis, overrides);
}

/** The connection name a client was given (`CLIENT LIST`). */
export function connectionNameOf(redis: RedisClient): string | undefined {
  return redis instanceof Redis ? redis.options.connectionName : redis.options.redisOptions?.connectionName;
}

/**
 * Closes a connection, waiting for replies already on the way; falls back to a hard disconnect. A
 * connection that is not up (still connecting, or retrying an unreachable server) is dropped at once:
 * QUIT would wait in its offline queue for a server that may never answer.
 */
export async function closeRedis(redis: RedisClient): Promise<void> {
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
