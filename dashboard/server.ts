import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import fastify from 'fastify';
import { z } from 'zod';
import { FleetMonitor } from '../monitor/fleet-monitor.ts';
import { type ConnectionInput, closeRedis, createRedis } from '../shared/connection.ts';
import { defaults } from '../shared/defaults.ts';
import { InvalidArgumentError } from '../shared/errors.ts';
import { connection, durationMs, keyPrefix, parseOptions, positiveInt, safeId } from '../shared/options.ts';
import { registerAuth } from './auth.ts';
import { registerRoutes } from './routes.ts';

export interface DashboardOptions {
  readonly connection: ConnectionInput;
  readonly queue: string;
  /** Default `taskfleet`. */
  readonly prefix?: string;
  /** Default 127.0.0.1. Any other address needs a token. */
  readonly host?: string;
  /** Default 4600; 0 picks a free port. */
  readonly port?: number;
  /** Required to listen beyond loopback; at least 12 characters. */
  readonly token?: string;
  /** How often open pages get fresh numbers. Default 1 s. */
  readonly refreshMs?: number;
}

export interface Dashboard {
  /** Where it listens, e.g. http://127.0.0.1:4600. */
  readonly url: string;
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  connection: connection(),
  queue: safeId('queue name'),
  prefix: keyPrefix().default(defaults.prefix),
  host: z.string().min(1).default(defaults.dashboardHost),
  port: z.int().min(0).max(65_535).default(defaults.dashboardPort),
  token: z.string().min(12, { error: 'expected at least 12 characters' }).optional(),
  refreshMs: durationMs().default(defaults.dashboardRefreshMs),
  groupsListed: positiveInt().default(defaults.groupsListed),
});

/**
 * The live dashboard of one queue: groups, their tasks, semaphores and workers, updated by server-sent
 * events, with bull-board under /queues for the raw BullMQ view. Server-rendered HTML and one small
 * script (dashboard/assets/live.js); nothing is built.
 */
export async function startDashboard(input: DashboardOptions): Promise<Dashboard> {
  const o = parseOptions(optionsSchema, input, 'dashboard options');
  const loopback = isLoopback(o.host);
  if (!loopback && o.token === undefined) {
    throw new InvalidArgumentError(
      `Refusing to listen on ${o.host} without a token: whoever reaches it could cancel groups. Give --token, or keep the default host 127.0.0.1.`,
    );
  }
  const monitor = new FleetMonitor(
    { connection: o.connection, queue: o.queue, prefix: o.prefix },
    'dashboard',
  );
  // bull-board's queue gets a connection of its own, closed with the dashboard.
  const bullConnection = createRedis(o.connection, {
    name: `taskfleet:${o.queue}:bull-board`,
    maxRetriesPerRequest: null,
  });
  bullConnection.on('error', () => undefined);
  const queue = new Queue(o.queue, { connection: bullConnection, prefix: o.prefix });
  // Without a listener BullMQ prints the connection's errors, whose command may carry the password.
  queue.on('error', () => undefined);
  // Live pages hold their connection open: close them with the server rather than wait for them.
  const app = fastify({ forceCloseConnections: true });
  const close = async (): Promise<void> => {
    await app.close();
    await queue.close();
    await closeRedis(bullConnection);
    await monitor.close();
  };
  try {
    registerAuth(app, { token: o.token, loopback });
    registerRoutes(app, monitor, {
      queue: o.queue,
      refreshMs: o.refreshMs,
      groupsListed: o.groupsListed,
      tasksPerPage: defaults.dashboardTasksPerPage,
    });
    const board = new FastifyAdapter();
    createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter: board });
    board.setBasePath('/queues');
    await app.register(board.registerPlugin(), { prefix: '/queues' });
    await app.listen({ host: o.host, port: o.port });
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  return { url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`, close };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
