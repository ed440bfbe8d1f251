import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { FleetMonitor } from '../monitor/fleet-monitor.ts';
import { ProgressRate } from '../monitor/progress-rate.ts';
import { ErrorCode, isTaskfleetError } from '../shared/errors.ts';
import { isSafeId } from '../shared/keys.ts';
import { html } from './html.ts';
import { type DashboardSettings, groupParts, overviewParts, part } from './live-parts.ts';
import { streamParts } from './live-stream.ts';
import { page } from './views/layout.ts';

export interface RouteSettings extends DashboardSettings {
  readonly queue: string;
  readonly refreshMs: number;
}

const ASSETS: Readonly<Record<string, { readonly type: string; readonly body: string }>> = {
  'live.js': { type: 'text/javascript; charset=utf-8', body: asset('live.js') },
  'style.css': { type: 'text/css; charset=utf-8', body: asset('style.css') },
};

const pageQuery = z.object({ page: z.coerce.number().int().min(0).catch(0).default(0) });
const eventsQuery = z.object({
  view: z.enum(['overview', 'group']).catch('overview'),
  group: z.string().optional(),
  page: z.coerce.number().int().min(0).catch(0).default(0),
});
const cancelBody = z.object({ reason: z.string().max(500).optional() }).catch({});

/** The dashboard's pages, its live stream and its small JSON API. */
export function registerRoutes(app: FastifyInstance, monitor: FleetMonitor, settings: RouteSettings): void {
  app.get('/', async (_request, reply) => {
    const parts = await overviewParts(monitor, settings);
    const body = html`<h2>Groups</h2>${part(parts, 'groups')}
<h2>Semaphores</h2>${part(parts, 'semaphores')}
<h2>Workers</h2>${part(parts, 'workers')}`;
    return sendPage(reply, page({ title: 'Overview', queue: settings.queue, view: 'overview', body }).value);
  });

  app.get<{ Params: { id: string } }>('/groups/:id', async (request, reply) => {
    const { id } = request.params;
    const { page: pageNumber } = pageQuery.parse(request.query);
    try {
      const parts = await groupParts(monitor, id, pageNumber, settings);
      const body = html`<h2>Group <code>${id}</code></h2>${part(parts, 'header')}<h3>Tasks</h3>${part(parts, 'tasks')}`;
      const attributes = html`data-group="${id}" data-page="${pageNumber}"`;
      return sendPage(
        reply,
        page({ title: `Group ${id}`, queue: settings.queue, view: 'group', attributes, body }).value,
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const body = html`<p class="empty">Group <code>${id}</code> does not exist on queue ${settings.queue} (or its retention expired).</p>`;
      reply.code(404);
      return sendPage(
        reply,
        page({ title: 'No such group', queue: settings.queue, view: 'overview', body }).value,
      );
    }
  });

  app.get('/events', (request, reply) => {
    const query = eventsQuery.parse(request.query);
    const id = query.group;
    if (query.view === 'group' && id !== undefined && isSafeId(id)) {
      const rate = new ProgressRate();
      streamParts(
        request,
        reply,
        () => groupParts(monitor, id, query.page, settings, rate),
        settings.refreshMs,
      );
    } else {
      streamParts(request, reply, () => overviewParts(monitor, settings), settings.refreshMs);
    }
  });

  app.post<{ Params: { id: string } }>('/api/groups/:id/cancel', async (request, reply) => {
    const { reason } = cancelBody.parse(request.body ?? {});
    try {
      const state = await monitor.cancel(request.params.id, reason ?? 'cancelled from the dashboard');
      return { id: request.params.id, state };
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return reply.code(404).send({ code: ErrorCode.GroupNotFound, message: (error as Error).message });
    }
  });

  app.get('/api/groups', async () => monitor.groups(settings.groupsListed));
  app.get<{ Params: { id: string } }>('/api/groups/:id', async (request, reply) => {
    const { page: pageNumber } = pageQuery.parse(request.query);
    try {
      const status = await monitor.group(request.params.id);
      const per = settings.tasksPerPage;
      const [firstError, tasks] = await Promise.all([
        monitor.firstError(status),
        monitor.tasks(status, pageNumber * per, per),
      ]);
      return { status, firstError: firstError ?? null, page: pageNumber, tasks };
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return reply.code(404).send({ code: ErrorCode.GroupNotFound, message: (error as Error).message });
    }
  });
  app.get('/api/semaphores', async () => monitor.semaphores());
  app.get('/api/workers', async () => monitor.workers());

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const found = ASSETS[request.params.file];
    if (found === undefined) return reply.code(404).send('Not found');
    return reply.type(found.type).header('cache-control', 'no-cache').send(found.body);
  });
}

function sendPage(reply: FastifyReply, markup: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(markup);
}

function isNotFound(error: unknown): boolean {
  return isTaskfleetError(error) && error.code === ErrorCode.GroupNotFound;
}

function asset(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
}
