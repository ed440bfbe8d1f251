import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServer, startRedisServer } from '../../infra/redis-server.ts';

/** AOF on, fsync once a second: what the README tells users to configure. */
export const AOF_EVERYSEC = ['--appendonly', 'yes', '--appendfsync', 'everysec'] as const;

/**
 * A private redis-server a test can take down and bring back on the same port with the same data
 * directory, so clients reconnect to "the same Redis". `down()` is a graceful shutdown (SIGTERM, as
 * `SHUTDOWN` does): Redis flushes and fsyncs its AOF before it exits.
 */
export class RestartableRedis {
  readonly #args: readonly string[];
  readonly #dir: string;
  readonly port: number;
  #server: RedisServer | undefined;

  private constructor(server: RedisServer, dir: string, args: readonly string[]) {
    this.#server = server;
    this.#dir = dir;
    this.#args = args;
    this.port = server.port;
  }

  static async start(args: readonly string[]): Promise<RestartableRedis> {
    const dir = await mkdtemp(join(tmpdir(), 'taskfleet-restart-'));
    try {
      return new RestartableRedis(await startRedisServer({ dir, args }), dir, args);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops the server gracefully; its data directory stays. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.stop();
  }

  /** Starts it again on the same port, from the same directory. */
  async up(): Promise<void> {
    if (this.#server !== undefined) return;
    this.#server = await startRedisServer({ dir: this.#dir, port: this.port, args: this.#args });
  }

  async close(): Promise<void> {
    await this.down();
    await rm(this.#dir, { recursive: true, force: true });
  }
}
