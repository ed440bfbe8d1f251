import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Dashboard, startDashboard } from '../../dashboard/server.ts';
import { runCli } from '../helpers/cli.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

/** Who may use the dashboard, and its JSON API, over plain HTTP (the browser test covers the pages). */
const queue = uniqueQueue('dashboard-http');
const TOKEN = 'correct-horse-battery-staple';
let open: Dashboard;
let guarded: Dashboard;

beforeAll(async () => {
  [open, guarded] = await Promise.all([
    startDashboard({ connection: redisUrl(), queue, port: 0 }),
    startDashboard({ connection: redisUrl(), queue, port: 0, token: TOKEN }),
  ]);
});

afterAll(async () => {
  await Promise.all([open.close(), guarded.close()]);
});

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A raw request, so the Host and Origin headers are exactly what the test says. */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the dashboard over HTTP', () => {
  test('on loopback without a token: pages, the JSON API and bull-board answer to loopback host names only', async () => {
    const page = await send(`${open.url}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`queue <b>${queue}</b>`);
    expect((await send(`${open.url}/api/groups`)).body).toBe('[]');
    expect((await send(`${open.url}/api/workers`)).body).toBe('[]');
    expect((await send(`${open.url}/queues`)).status).toBe(200);
    // DNS rebinding: a page of evil.example that resolves to 127.0.0.1 names another host.
    const rebound = await send(`${open.url}/api/groups`, { headers: { host: 'evil.example:4600' } });
    expect(rebound.status).toBe(403);
  });

  test('cancel: 404 for an unknown group, and refused from another origin', async () => {
    const cancel = (headers: Record<string, string>) =>
      send(`${open.url}/api/groups/nope/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{"reason":"x"}',
      });
    const missing = await cancel({});
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'GROUP_NOT_FOUND' });
    expect((await cancel({ origin: 'https://evil.example' })).status).toBe(403);
    expect((await cancel({ origin: open.url })).status).toBe(404);
    expect((await send(`${open.url}/groups/nope`)).status).toBe(404);
  });

  test('with a token: refused without it; ?token= sets a cookie; a bearer token works', async () => {
    expect((await send(`${guarded.url}/`)).status).toBe(401);
    expect(
      (await send(`${guarded.url}/api/groups`, { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    const login = await send(`${guarded.url}/groups/x?token=${TOKEN}&page=2`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/groups/x?page=2');
    const cookie = String(login.headers['set-cookie']);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const withCookie = await send(`${guarded.url}/`, { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(withCookie.status).toBe(200);
    const bearer = await send(`${guarded.url}/api/groups`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect((await send(`${guarded.url}/queues`)).status).toBe(401);
  });

  test('refuses to listen beyond loopback without a token (exit 2 from the CLI)', async () => {
    await expect(startDashboard({ connection: redisUrl(), queue, host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /Refusing to listen on 0\.0\.0\.0 without a token/,
    );
    await expect(startDashboard({ connection: redisUrl(), queue, port: 0, token: 'short' })).rejects.toThrow(
      /Invalid `token`: expected at least 12 characters/,
    );
    const result = await runCli(['dashboard', '--host', '0.0.0.0', '--port', '0', '--redis', redisUrl()]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^taskfleet: Refusing to listen on 0\.0\.0\.0 without a token/);
  });
});
