import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

/**
 * Starts a private `redis-server` for tests, benchmarks and the demo: its own port on loopback, its own
 * temp dir, persistence off unless asked. Never touches a Redis someone else runs.
 */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. ['--appendonly', 'yes']. */
  readonly args?: readonly string[];
  /** Reuse a port (to restart a server in place). */
  readonly port?: number;
  /** Reuse a directory (to restart with its AOF). */
  readonly dir?: string;
  /**
   * An ACL user allowed everything; the `default` user is switched off, so a client without these
   * credentials is refused. The URL carries them.
   */
  readonly user?: { readonly name: string; readonly password: string };
  /** TLS only (no plain-text port), for `rediss://localhost:<port>`. Clients need the CA to trust it. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

export function findRedisServer(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined)
    throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'taskfleet-redis-')));
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      const child = await launch(binary, dir, [...securityArgs(port, options), ...(options.args ?? [])]);
      return {
        url: serverUrl(port, options),
        port,
        dir,
        process: child,
        stop: async () => {
          await stopProcess(child);
          if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      // Another process took the port between our probe and redis-server's bind: try another.
      if (attempt >= 5 || options.port !== undefined) throw error;
    }
  }
}

/** The port (plain or TLS) and, if asked, the ACL user and the certificates. */
function securityArgs(port: number, options: RedisServerOptions): string[] {
  const args =
    options.tls === undefined
      ? ['--port', String(port)]
      : [
          ...['--port', '0', '--tls-port', String(port)],
          ...['--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile],
          ...['--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no'],
        ];
  if (options.user !== undefined) {
    const { name, password } = options.user;
    args.push('--user', name, 'on', `>${password}`, '~*', '&*', '+@all', '--user', 'default', 'off');
  }
  return args;
}

function serverUrl(port: number, options: RedisServerOptions): string {
  const { user, tls } = options;
  const auth =
    user === undefined ? '' : `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`;
  // TLS verifies the host name against the certificate, which names localhost.
  return tls === undefined ? `redis://${auth}127.0.0.1:${port}` : `rediss://${auth}localhost:${port}`;
}

function launch(binary: string, dir: string, extra: readonly string[]): Promise<ChildProcess> {
  const args = [
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--loglevel',
    'notice',
    ...extra,
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)),
    );
    child.once('error', reject);
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
