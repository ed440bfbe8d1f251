import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface AuthOptions {
  /** When set, every request must carry it: `Authorization: Bearer <token>`, or the cookie `?token=` sets. */
  readonly token: string | undefined;
  /** The server listens on loopback only: requests must name a loopback host (no DNS rebinding). */
  readonly loopback: boolean;
}

const COOKIE = 'taskfleet_token';
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const UNSAFE: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Who may use the dashboard. It can cancel groups, so:
 * - without a token it listens on loopback only, and refuses requests for another host name, so a web
 *   page cannot reach it through DNS rebinding;
 * - with a token, the first visit is `/?token=...`, which sets an HttpOnly, SameSite=Strict cookie and
 *   redirects to the same page without the token; scripts send `Authorization: Bearer <token>`;
 * - a request that changes something must come from the dashboard's own origin (the Origin header
 *   browsers send), so another site cannot post a cancel from a visitor's browser.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.addHook('onRequest', async (request, reply) => {
    if (options.loopback && options.token === undefined && !LOOPBACK_NAMES.has(hostName(request))) {
      return deny(reply, 403, 'This dashboard answers on loopback names only (127.0.0.1, localhost).');
    }
    if (UNSAFE.has(request.method) && !sameOrigin(request)) {
      return deny(reply, 403, 'Cross-origin request refused.');
    }
    if (options.token === undefined) return undefined;
    const query = (request.query ?? {}) as { token?: unknown };
    if (request.method === 'GET' && typeof query.token === 'string' && matches(query.token, options.token)) {
      const url = new URL(request.url, 'http://dashboard');
      url.searchParams.delete('token');
      void reply
        .header(
          'set-cookie',
          `${COOKIE}=${encodeURIComponent(options.token)}; HttpOnly; SameSite=Strict; Path=/`,
        )
        .redirect(`${url.pathname}${url.search}`, 303);
      return reply;
    }
    if (presented(request).some((candidate) => matches(candidate, options.token ?? ''))) return undefined;
    return deny(reply, 401, 'This dashboard needs its token: open it once as /?token=<token>.');
  });
}

function deny(reply: FastifyReply, status: number, message: string): FastifyReply {
  void reply.code(status).type('text/plain; charset=utf-8').send(message);
  return reply;
}

function hostName(request: FastifyRequest): string {
  const host = request.headers.host ?? '';
  // `[::1]:4600` or `127.0.0.1:4600`: drop the port.
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser's cross-site request (curl, scripts)
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function presented(request: FastifyRequest): string[] {
  const found: string[] = [];
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) found.push(authorization.slice('Bearer '.length));
  for (const cookie of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = cookie.trim().split('=');
    if (name === COOKIE) found.push(decodeURIComponent(value.join('=')));
  }
  return found;
}

function matches(candidate: string, token: string): boolean {
  const a = Buffer.from(candidate);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
