import { z } from 'zod';
import type { ConnectionInput } from '../shared/connection.ts';
import { defaults } from '../shared/defaults.ts';
import {
  checkClusterPrefix,
  connection,
  durationMs,
  keyPrefix,
  limitMap,
  nonNegativeInt,
  parseOptions,
  positiveInt,
  safeId,
  waitMs,
} from '../shared/options.ts';
import { redactDetails, redactText } from '../shared/redact.ts';

/** Where a worker writes what it cannot throw to anyone (malformed messages, maintenance errors). */
export interface Logger {
  warn(message: string, details?: unknown): void;
  error(message: string, details?: unknown): void;
}

export interface FleetWorkerOptions {
  /** A redis:// or rediss:// URL, a unix socket path, or ioredis options. */
  readonly connection: ConnectionInput;
  /** The BullMQ queue to take tasks from. */
  readonly queue: string;
  /** Key prefix; must match the producers'. Default `taskfleet`. */
  readonly prefix?: string;
  /**
   * Key prefix of the fleet-wide named limits (globalLimits, ctx.semaphore). Default: `prefix`. Queues
   * spread over a Redis Cluster's shards with prefixes of their own share their limits by giving the
   * same semaphorePrefix.
   */
  readonly semaphorePrefix?: string;
  /** Handlers running at once in this process (asyncio: the Semaphore around the whole worker). Default 1. */
  readonly concurrency?: number;
  /** Named limits in this process: `{ cpu: 2 }`; a task asks for permits with `worker.task(..., { local: { cpu: 1 } })`. */
  readonly localLimits?: Readonly<Record<string, number>>;
  /**
   * Fleet-wide limits this worker's tasks use: `{ 'api.example': 10 }`. The first limit given for a name
   * wins across the fleet (or the one set with setLimit); a different one here is reported, not applied.
   */
  readonly globalLimits?: Readonly<Record<string, number>>;
  /** Lease of the fleet-wide permits this worker holds (renewed while held). Default 30 s. */
  readonly permitLeaseMs?: number;
  /**
   * Tasks that may wait — for a child group, a global permit or their group's turn — without holding a
   * concurrency slot, at most (default 4 × concurrency). Past it, a task waiting for a child group keeps
   * its slot, and while this many wait for permits the worker takes no new job. 0: never park.
   */
  readonly maxParked?: number;
  /** On close(), running tasks get this long before their signal aborts and they go back to the queue. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** After a task's signal aborts, how long its group waits for the handler before counting it cancelled anyway. Default 10 s. */
  readonly cancelGraceMs?: number;
  /** Largest result a handler may return, bytes of JSON. Default 1 MiB. */
  readonly maxResultBytes?: number;
  /** Largest data for tasks created by handlers (ctx.createTask). Default 1 MiB. */
  readonly maxDataBytes?: number;
  /** How often the state of groups with running tasks is re-read: the cancel path that needs no broadcast. Default 1 s. */
  readonly cancelPollMs?: number;
  /** How often maintenance runs (deadlines, lost producers, stuck groups). Default 1 s. */
  readonly maintenanceIntervalMs?: number;
  /** A group with no progress (no task added, started or finished) this long is reconciled against its BullMQ jobs. Default 60 s. */
  readonly staleGroupMs?: number;
  /** How often the worker publishes its heartbeat (`taskfleet workers`); it drops off after 3 missed beats. Default 2 s. */
  readonly heartbeatIntervalMs?: number;
  /** Producer lease of child groups opened by handlers. Default 30 s. */
  readonly leaseMs?: number;
  /** BullMQ job lock. A worker that dies mid-task gives its task back after about this long. Default 30 s. */
  readonly lockDurationMs?: number;
  /** BullMQ stalled-job check interval. Default 30 s. */
  readonly stalledIntervalMs?: number;
  /** Times a task may stall (its worker died) before BullMQ fails it. Default 1. */
  readonly maxStalledCount?: number;
  /** Worker threads for ctx.toThread (piscina). Default: piscina's (available parallelism). */
  readonly maxThreads?: number;
  /** Name shown in BullMQ (job.processedBy). */
  readonly name?: string;
  readonly logger?: Logger;
}

const line = (message: string, details: unknown): string =>
  `[taskfleet] ${redactText(message)}${details === undefined ? '' : ` ${redactDetails(details)}`}`;
const consoleLogger: Logger = {
  warn: (message, details) => console.warn(line(message, details)),
  error: (message, details) => console.error(line(message, details)),
};

const workerSchema = z
  .strictObject({
    connection: connection(),
    queue: safeId('queue name'),
    prefix: keyPrefix().default(defaults.prefix),
    semaphorePrefix: keyPrefix().optional(),
    concurrency: positiveInt().default(defaults.concurrency),
    localLimits: limitMap('local limit').default({}),
    globalLimits: limitMap('global limit').default({}),
    permitLeaseMs: durationMs().default(defaults.semaphoreLeaseMs),
    maxParked: nonNegativeInt().optional(),
    shutdownGraceMs: waitMs().default(defaults.shutdownGraceMs),
    cancelGraceMs: waitMs().default(defaults.cancelGraceMs),
    maxResultBytes: positiveInt().default(defaults.maxResultBytes),
    maxDataBytes: positiveInt().default(defaults.maxDataBytes),
    cancelPollMs: durationMs().default(defaults.cancelPollMs),
    maintenanceIntervalMs: durationMs().default(defaults.maintenanceIntervalMs),
    staleGroupMs: durationMs().default(defaults.staleGroupMs),
    heartbeatIntervalMs: durationMs().default(defaults.heartbeatIntervalMs),
    leaseMs: durationMs().default(defaults.leaseMs),
    lockDurationMs: durationMs().default(defaults.lockDurationMs),
    stalledIntervalMs: durationMs().default(defaults.stalledIntervalMs),
    maxStalledCount: nonNegativeInt().default(defaults.maxStalledCount),
    maxThreads: positiveInt().optional(),
    name: z.string().max(200).optional(),
    logger: z
      .custom<Logger>((v) => typeof v === 'object' && v !== null, { error: 'expected { warn, error }' })
      .default(consoleLogger),
  })
  // maxParked's default depends on concurrency.
  .transform((o) => ({ ...o, maxParked: o.maxParked ?? o.concurrency * defaults.maxParkedPerSlot }));

export type ResolvedWorkerOptions = Readonly<z.output<typeof workerSchema>>;

export function resolveWorkerOptions(input: FleetWorkerOptions): ResolvedWorkerOptions {
  return checkClusterPrefix(parseOptions(workerSchema, input, 'FleetWorker options'));
}
