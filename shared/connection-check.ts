import type { RedisClient } from './connection.ts';
import { RedisAuthError, RedisTlsError, RedisUnreachableError } from './errors.ts';
import { redactText } from './redact.ts';

/**
 * Waiting for a connection without hanging on a mistake. ioredis retries every failed connection
 * forever (workers and subscribers have no retry limit), which is right for an outage and wrong for a
 * wrong password or an untrusted certificate: those fail with a typed error at once.
 */

const AUTH_REPLY = /^(WRONGPASS|NOAUTH)\b/;
/** Node's TLS errors: OpenSSL's verify codes (SELF_SIGNED_CERT_IN_CHAIN ...), ERR_TLS_*, ERR_SSL_*. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED/;

/** The typed error a connection error means, or undefined for one worth retrying (refused, reset). */
export function fatalConnectionError(error: unknown, target: string): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const why = redactText(error.message);
  if (AUTH_REPLY.test(error.message)) return new RedisAuthError(target, why);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TLS_CODE.test(code)) return new RedisTlsError(target, `${why} (${code})`);
  return undefined;
}

export interface WhenConnectedOptions {
  /** Give up with RedisUnreachableError after this long (default: wait out an outage). */
  readonly timeoutMs?: number;
  /** Give up at the first error of any kind (the CLI: a mistyped host deserves an answer at once). */
  readonly anyError?: boolean;
}

/**
 * Resolves once `redis` is ready. Rejects with RedisAuthError or RedisTlsError at the first such
 * failure; with the options, also on other errors or after a timeout (RedisUnreachableError).
 * `target` names the server in messages and must not carry a password (see redact.ts).
 */
export function whenConnected(
  redis: RedisClient,
  target: string,
  options: WhenConnectedOptions = {},
): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  if (redis.status === 'end')
    return Promise.reject(new RedisUnreachableError(target, 'the connection is closed'));
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (error?: Error): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('end', onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => done();
    const onError = (error: Error): void => {
      const fatal = fatalConnectionError(error, target);
      if (fatal !== undefined) done(fatal);
      else if (options.anyError === true) done(new RedisUnreachableError(target, redactText(error.message)));
    };
    const onEnd = (): void => done(new RedisUnreachableError(target, 'the connection was closed'));
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.once('end', onEnd);
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(
        () => done(new RedisUnreachableError(target, `no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    }
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
  });
}
