import { Cluster, type ClusterNode, type ClusterOptions } from 'ioredis';

/**
 * A Redis Cluster, as ioredis takes one: `new Cluster(nodes, options)`. The nodes are where to start
 * (any masters or replicas; ioredis discovers the rest), the options are ioredis' ClusterOptions, with
 * per-node connection settings (password, TLS ...) under `redisOptions`.
 */
export interface ClusterConnection {
  readonly cluster: readonly ClusterNode[];
  readonly options?: ClusterOptions;
}

/** `redis+cluster://[user:password@]host:port[,host:port ...]`: a cluster as one string (REDIS_URL, --redis). */
const CLUSTER_URL = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^@/]+?)\/?$/;

export function isClusterUrl(value: string): boolean {
  return value.startsWith('redis+cluster://');
}

/** Reads a `redis+cluster://` URL; undefined if it is not a well-formed one. */
export function parseClusterUrl(url: string): ClusterConnection | undefined {
  const match = CLUSTER_URL.exec(url);
  if (match === null) return undefined;
  const [, user = '', password, hosts = ''] = match;
  const nodes: ClusterNode[] = [];
  for (const hostPort of hosts.split(',')) {
    const node = /^([^:,]+):(\d{1,5})$/.exec(hostPort.trim());
    const port = Number(node?.[2]);
    if (node === null || port < 1 || port > 65_535) return undefined;
    nodes.push({ host: node[1] ?? '', port });
  }
  const username = decode(user);
  const secret = password === undefined ? undefined : decode(password);
  if (username === undefined || (password !== undefined && secret === undefined)) return undefined;
  const auth = {
    ...(username === '' ? {} : { username }),
    ...(secret === undefined ? {} : { password: secret }),
  };
  return Object.keys(auth).length === 0
    ? { cluster: nodes }
    : { cluster: nodes, options: { redisOptions: auth } };
}

/** Percent-decoding that answers undefined for a malformed escape instead of throwing. */
function decode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

export function isClusterConnection(value: unknown): value is ClusterConnection {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { cluster?: unknown }).cluster)
  );
}

type NodeOptions = NonNullable<ClusterOptions['redisOptions']>;

/** See connection.ts: ioredis' replyMapping does not accept undefined under exactOptionalPropertyTypes. */
type ConstructorOptions = ClusterOptions & { redisOptions?: NodeOptions & { replyMapping?: never } };

/** A Cluster client; `overrides` go into every node connection's options (name, retries). */
export function createCluster(input: ClusterConnection, overrides: NodeOptions): Cluster {
  const options = input.options ?? {};
  return new Cluster([...input.cluster], {
    ...options,
    redisOptions: { ...options.redisOptions, ...overrides },
  } as ConstructorOptions);
}

/** A second client of the same cluster, with other per-node overrides. */
export function duplicateCluster(cluster: Cluster, overrides: NodeOptions): Cluster {
  return cluster.duplicate([], {
    ...cluster.options,
    redisOptions: { ...cluster.options.redisOptions, ...overrides },
  } as ConstructorOptions);
}

/**
 * On a cluster, every key of one queue (BullMQ's and taskfleet's) must share a hash slot, so the key
 * prefix must carry a hash tag: the first `{` of the prefix, then a `}` with at least one character
 * between them (Redis hashes only that part). Returns why the prefix fails, or undefined.
 */
export function clusterPrefixProblem(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  if (open >= 0 && close > open + 1) return undefined;
  return `on a Redis Cluster the prefix needs a hash tag, such as \`{${prefix.replace(/[{}]/g, '') || 'taskfleet'}}\`, so that every key of a queue lands in one hash slot`;
}
