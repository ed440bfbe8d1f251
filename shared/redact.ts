import { inspect } from 'node:util';

/**
 * Secrets out of what taskfleet shows: a Redis URL's password (and a `?password=` parameter, which
 * ioredis also reads) becomes `***` wherever a URL is printed, put in an error, or recorded.
 */

const MASK = '***';

/** `scheme://user:` ... up to the last `@` of the word: the password, wherever it sits in a text. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)\S*@/gi;
const PASSWORD_PARAM = /([?&](?:password|pass)=)[^&#\s]*/gi;

/**
 * A connection string as it may be shown: `rediss://app:***@host:6380`. Unix socket paths are kept. A
 * string with an `@` but no password where a URL parser finds one (a typo, a lone `secret@host`) shows
 * nothing before its last `@`: that part may well be a password.
 */
export function redactUrl(url: string): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  if (url.startsWith('/') && !hasScheme && !url.includes('@')) return redactText(url);
  let parsed: URL | undefined;
  try {
    // ioredis reads `user:pass@host:port` without a scheme too.
    parsed = new URL(hasScheme ? url : `redis://${url}`);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.password === '' && url.includes('@'))) {
    const masked = redactText(url); // `redis+cluster://user:pass@a:1,b:2` is no URL, but has a password
    return masked !== url ? masked : url.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^@]*@/i, `$1${MASK}@`);
  }
  if (parsed.password !== '') parsed.password = MASK;
  for (const key of ['password', 'pass'])
    if (parsed.searchParams.has(key)) parsed.searchParams.set(key, MASK);
  const shown = parsed.href.replace(/%2A%2A%2A/g, MASK);
  return hasScheme ? shown : shown.slice('redis://'.length);
}

/** Any text (an error message, a value in a message) with the passwords of the URLs in it masked. */
export function redactText(text: string): string {
  return text.replace(URL_PASSWORD, `$1${MASK}@`).replace(PASSWORD_PARAM, `$1${MASK}`);
}

/**
 * What a log line may show of `details`: an error's stack (message included), redacted, and never its
 * other properties: a Redis reply error carries its command's arguments, HELLO's or AUTH's password too.
 */
export function redactDetails(details: unknown): string {
  if (details instanceof Error) return redactText(details.stack ?? `${details.name}: ${details.message}`);
  return redactText(typeof details === 'string' ? details : inspect(details, { depth: 2 }));
}

/** Where a connection goes, for messages: a masked URL, a socket path, or host:port of ioredis options. */
export function describeConnection(input: unknown): string {
  if (typeof input === 'string') return redactUrl(input);
  if (typeof input !== 'object' || input === null) return 'Redis';
  const o = input as {
    host?: unknown;
    port?: unknown;
    path?: unknown;
    tls?: unknown;
    username?: unknown;
    cluster?: unknown;
  };
  if (Array.isArray(o.cluster)) {
    const nodes = o.cluster.map((n: { host?: unknown; port?: unknown } | string | number) =>
      typeof n === 'object' ? `${String(n.host ?? '127.0.0.1')}:${String(n.port ?? 6379)}` : String(n),
    );
    return `redis+cluster://${nodes.join(',')}`;
  }
  if (typeof o.path === 'string') return o.path;
  const scheme = o.tls === undefined || o.tls === false ? 'redis' : 'rediss';
  const user = typeof o.username === 'string' && o.username !== '' ? `${o.username}@` : '';
  return `${scheme}://${user}${String(o.host ?? '127.0.0.1')}:${String(o.port ?? 6379)}`;
}
