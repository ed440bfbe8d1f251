import type { Command } from 'commander';
import { z } from 'zod';
import { FleetMonitor } from '../monitor/fleet-monitor.ts';
import type { RedisClient } from '../shared/connection.ts';
import { defaults } from '../shared/defaults.ts';
import { RedisUnreachableError } from '../shared/errors.ts';
import { checkClusterPrefix, keyPrefix, parseOptions, safeId } from '../shared/options.ts';
import type { Environment } from './config.ts';
import { Output } from './output.ts';

/** The options every command honours. */
export interface GlobalOptions {
  readonly redis: string;
  /** The Redis URL came from `--redis` or REDIS_URL (the demo starts its own Redis otherwise). */
  readonly redisGiven: boolean;
  readonly queue: string;
  /** `--queue` was given (the demo uses a queue of its own otherwise). */
  readonly queueGiven: boolean;
  readonly prefix: string;
  readonly json: boolean;
}

const globalSchema = z.object({
  redis: z.string().regex(/^(rediss?:\/\/.+|redis\+cluster:\/\/.+|\/.+)$/, {
    error: 'expected a redis://, rediss:// or redis+cluster:// URL, or a unix socket path',
  }),
  queue: safeId('queue name'),
  prefix: keyPrefix(),
});

/** What a command runs with: its global options, its output, and connections opened on first use. */
export class CliContext {
  readonly options: GlobalOptions;
  readonly out: Output;
  readonly env: Environment;
  #monitor: Promise<FleetMonitor> | undefined;
  readonly #cleanups: (() => Promise<void>)[] = [];

  constructor(command: Command, env: Environment) {
    const raw = command.optsWithGlobals<{
      redis?: string;
      queue?: string;
      prefix?: string;
      json?: boolean;
    }>();
    const redis = raw.redis ?? env.redisUrl;
    const checked = parseOptions(
      globalSchema,
      {
        redis: redis ?? defaults.redisUrl,
        queue: raw.queue ?? defaults.queue,
        prefix: raw.prefix ?? defaults.prefix,
      },
      'options',
    );
    checkClusterPrefix({ connection: checked.redis, prefix: checked.prefix });
    this.options = {
      ...checked,
      redisGiven: redis !== undefined,
      queueGiven: raw.queue !== undefined,
      json: raw.json === true,
    };
    this.env = env;
    this.out = new Output(this.options.json, env.noColor);
  }

  /** The fleet monitor of the queue, once Redis has answered (else RedisUnreachableError). */
  monitor(): Promise<FleetMonitor> {
    this.#monitor ??= (async () => {
      const { redis: connection, queue, prefix } = this.options;
      const monitor = new FleetMonitor({ connection, queue, prefix }, 'cli');
      this.onClose(() => monitor.close());
      await checkReachable(monitor.redis, this.options.redis);
      return monitor;
    })();
    return this.#monitor;
  }

  /** Runs at the end of the command, last registered first. */
  onClose(cleanup: () => Promise<void>): void {
    this.#cleanups.unshift(cleanup);
  }

  async close(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0)) await cleanup().catch(() => undefined);
  }
}

/**
 * Waits for Redis to answer a PING: at most `connectTimeoutMs`, and not past the first connection
 * error. ioredis would otherwise keep retrying, and a user who mistyped a URL deserves to hear so at once.
 */
export async function checkReachable(redis: RedisClient, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((error: Error) => void) | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_resolve, reject) => {
        onError = reject;
        redis.once('error', onError);
        timer = setTimeout(
          () => reject(new Error(`no answer within ${defaults.connectTimeoutMs} ms`)),
          defaults.connectTimeoutMs,
        );
      }),
    ]);
  } catch (error) {
    throw new RedisUnreachableError(redactUrl(url), (error as Error).message);
  } finally {
    clearTimeout(timer);
    if (onError !== undefined) redis.off('error', onError);
  }
}

/** A URL as it may be printed: without its password. */
export function redactUrl(url: string): string {
  return url.replace(/^(redis(?:s|\+cluster)?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
