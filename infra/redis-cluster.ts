import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';

const run = promisify(execFile);

/**
 * Starts a private Redis Cluster for tests and demos: `masters` `redis-server --cluster-enabled yes` on
 * loopback ports of their own (no replicas, persistence off), joined with `redis-cli --cluster create`.
 * Never touches a Redis someone else runs.
 */
export interface RedisCluster {
  /** `host:port` of every master, the startup nodes ioredis' Cluster takes. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  /** The same as one string: `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`. */
  readonly url: string;
  readonly servers: readonly RedisServer[];
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Masters, each with a third of the slots for 3 (the smallest cluster Redis accepts). Default 3. */
  readonly masters?: number;
  /** How long to wait for every node to report `cluster_state:ok`. Default 20 s. */
  readonly timeoutMs?: number;
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) servers.push(await startNode());
    const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitUntilOk(nodes, options.timeoutMs ?? 20_000);
    return {
      nodes,
      url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
      servers,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * One cluster-enabled node. Its bus port is given explicitly (the default, port + 10000, may not exist
 * for a high free port); if another process took it meanwhile, the node fails to start: try new ports.
 */
async function startNode(): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const busPort = await freePort();
    try {
      return await startRedisServer({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '5000',
        ],
      });
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/** Polls every node until it sees the whole cluster up: all slots served, every node known. */
async function waitUntilOk(
  nodes: readonly { readonly host: string; readonly port: number }[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const states = await Promise.all(
      nodes.map(async (n) => {
        const { stdout } = await run('redis-cli', ['-h', n.host, '-p', String(n.port), 'cluster', 'info']);
        return {
          ok: /^cluster_state:ok\r?$/m.test(stdout),
          known: Number(/^cluster_known_nodes:(\d+)/m.exec(stdout)?.[1] ?? 0),
        };
      }),
    );
    if (states.every((s) => s.ok && s.known === nodes.length)) return;
    last = JSON.stringify(states);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Redis Cluster did not reach cluster_state:ok within ${timeoutMs} ms: ${last}`);
}
