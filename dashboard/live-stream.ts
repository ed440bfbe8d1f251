import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveParts } from './live-parts.ts';

/**
 * Server-sent events for one open page: every `refreshMs` the parts are rendered again, and those that
 * changed are sent as one `update` event (`{ name: html }`); the page swaps them in. A `tick` event
 * says the data is fresh even when nothing changed. The render runs again only once the last one has
 * finished, and stops when the page goes away.
 */
export function streamParts(
  request: FastifyRequest,
  reply: FastifyReply,
  render: () => Promise<LiveParts>,
  refreshMs: number,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n\n');
  const sent = new Map<string, string>();
  let busy = false;
  let closed = false;
  const send = (event: string, data: unknown): void => {
    if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const tick = async (): Promise<void> => {
    if (busy || closed) return;
    busy = true;
    try {
      const parts = await render();
      const changed: Record<string, string> = {};
      for (const [name, markup] of Object.entries(parts)) {
        if (sent.get(name) === markup.value) continue;
        sent.set(name, markup.value);
        changed[name] = markup.value;
      }
      if (Object.keys(changed).length > 0) send('update', changed);
      send('tick', Date.now());
    } catch (error) {
      // The page shows the problem and keeps its last numbers; the next tick tries again.
      send('problem', {
        code: (error as { code?: unknown }).code ?? null,
        message: (error as Error).message,
      });
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), refreshMs);
  void tick();
  request.raw.on('close', () => {
    closed = true;
    clearInterval(timer);
  });
}
