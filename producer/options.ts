import { z } from 'zod';
import type { ConnectionInput } from '../shared/connection.ts';
import { defaults } from '../shared/defaults.ts';
import type { GroupPolicy } from '../shared/group-protocol/group-state.ts';
import { newGroupId } from '../shared/keys.ts';
import {
  checkClusterPrefix,
  connection,
  durationMs,
  keyPrefix,
  name,
  nonNegativeInt,
  parseOptions,
  positiveInt,
  retentionMs,
  safeId,
} from '../shared/options.ts';

/** BullMQ's job retention: true (remove at once), a count to keep, or an age (s) and/or count. */
export type KeepJobs =
  | boolean
  | number
  | { readonly age?: number | undefined; readonly count?: number | undefined };

export interface ProducerOptions {
  /** A redis:// or rediss:// URL, a unix socket path, or ioredis options. */
  readonly connection: ConnectionInput;
  /** The BullMQ queue the tasks go to; workers listen on the same name. */
  readonly queue: string;
  /** Key prefix for taskfleet's and BullMQ's keys. Default `taskfleet`. */
  readonly prefix?: string;
  /**
   * Task names the fleet handles. When given, createTask refuses any other name at once with
   * UnknownTaskError; without it, an unknown name fails its task on the worker.
   */
  readonly tasks?: readonly string[];
  /** Producer lease of open groups, ms (default 30 s). A producer silent this long loses its open groups. */
  readonly leaseMs?: number;
  /** Tasks per round trip when sending (default 500). */
  readonly batchSize?: number;
  /** Largest task data, bytes of JSON (default 1 MiB). */
  readonly maxDataBytes?: number;
  /** How long a finished group's state and results stay in Redis, ms (default 24 h). */
  readonly retentionMs?: number;
  /**
   * Tracing: the first this-many tasks of a group are children of the group's trace; later ones start
   * traces of their own with a link to the group span (default 1000). See also `taskSpans`.
   */
  readonly taskSpanLinksAbove?: number;
  /** BullMQ job retention for tasks' jobs. */
  readonly removeOnComplete?: KeepJobs;
  readonly removeOnFail?: KeepJobs;
}

export interface TaskGroupOptions {
  /** Group id (default: a random UUID). 1-128 characters of A-Z a-z 0-9 _ . - */
  readonly id?: string;
  /** A label for people (dashboards, CLI). */
  readonly name?: string;
  /** `fail-fast` (asyncio.TaskGroup, the default) or `all-settled` (gather(return_exceptions=True)). */
  readonly policy?: GroupPolicy;
  /** Cancel the group (reason `deadline`) this many ms after it is created, even with no producer alive. */
  readonly deadlineMs?: number;
  /** Overrides the producer's retentionMs for this group. */
  readonly retentionMs?: number;
  /**
   * At most this many tasks of the group run at once, across the whole fleet (asyncio: a TaskGroup whose
   * tasks share a Semaphore). Tasks waiting for their turn give their worker slot back meanwhile.
   */
  readonly maxConcurrency?: number;
  /**
   * Tracing: `children` makes every task span a child of this group's trace, `links` makes each start
   * its own trace linked to the group span. Default: children up to the producer's `taskSpanLinksAbove`.
   */
  readonly taskSpans?: 'children' | 'links';
}

export interface TaskOptions {
  /** Attempts in all (BullMQ `attempts`); default 1. Only the last attempt's failure fails the group. */
  readonly attempts?: number;
  /** Delay between attempts (BullMQ `backoff`): ms, or `{ type: 'fixed' | 'exponential', delay }`. */
  readonly backoff?: number | { readonly type: 'fixed' | 'exponential'; readonly delay: number };
  /** BullMQ priority: 1 is the highest; default none (FIFO). */
  readonly priority?: number;
  /** Do not start before this many ms have passed. */
  readonly delayMs?: number;
}

const keepJobs = z.union([
  z.boolean(),
  nonNegativeInt(),
  z.strictObject({ age: positiveInt().optional(), count: nonNegativeInt().optional() }),
]);

const producerSchema = z.strictObject({
  connection: connection(),
  queue: safeId('queue name'),
  prefix: keyPrefix().default(defaults.prefix),
  tasks: z
    .array(name('task name'))
    .transform((names): ReadonlySet<string> => new Set(names))
    .optional(),
  leaseMs: durationMs().default(defaults.leaseMs),
  batchSize: positiveInt().default(defaults.batchSize),
  maxDataBytes: positiveInt().default(defaults.maxDataBytes),
  retentionMs: retentionMs().default(defaults.retentionMs),
  taskSpanLinksAbove: nonNegativeInt().default(defaults.taskSpanLinksAbove),
  removeOnComplete: keepJobs.default(defaults.removeOnComplete),
  removeOnFail: keepJobs.default(defaults.removeOnFail),
});

export type ResolvedProducerOptions = Readonly<z.output<typeof producerSchema>>;

export function resolveProducerOptions(input: ProducerOptions): ResolvedProducerOptions {
  return checkClusterPrefix(parseOptions(producerSchema, input, 'Producer options'));
}

const groupSchema = z.strictObject({
  id: safeId('group id').optional(),
  name: z.string().max(200, { error: 'expected at most 200 characters' }).optional(),
  policy: z.enum(['fail-fast', 'all-settled'], { error: "expected 'fail-fast' or 'all-settled'" }).optional(),
  deadlineMs: durationMs().optional(),
  retentionMs: retentionMs().optional(),
  maxConcurrency: positiveInt().optional(),
  taskSpans: z.enum(['children', 'links'], { error: "expected 'children' or 'links'" }).optional(),
});

export interface ResolvedGroupOptions {
  readonly id: string;
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly deadlineMs: number;
  readonly retentionMs: number;
  readonly maxConcurrency: number | undefined;
  /** Tasks from this index on start traces of their own (see taskSpans). */
  readonly linkFrom: number;
}

export function resolveGroupOptions(
  input: TaskGroupOptions,
  producer: ResolvedProducerOptions,
): ResolvedGroupOptions {
  const o = parseOptions(groupSchema, input, 'task group options');
  return {
    id: o.id ?? newGroupId(),
    name: o.name ?? '',
    policy: o.policy ?? defaults.policy,
    deadlineMs: o.deadlineMs ?? 0,
    retentionMs: o.retentionMs ?? producer.retentionMs,
    maxConcurrency: o.maxConcurrency,
    linkFrom:
      o.taskSpans === 'links'
        ? 0
        : o.taskSpans === 'children'
          ? Number.POSITIVE_INFINITY
          : producer.taskSpanLinksAbove,
  };
}

const taskSchema = z.strictObject({
  attempts: positiveInt().optional(),
  backoff: z
    .union([
      nonNegativeInt(),
      z.strictObject({ type: z.enum(['fixed', 'exponential']), delay: nonNegativeInt() }),
    ])
    .optional(),
  priority: z.int().min(1).max(2_097_152).optional(),
  delayMs: nonNegativeInt().optional(),
});

/** createTask's options: validated only when given, since createTask runs once per task. */
const taskNameSchema = name('task name');

/** A task name, checked (createTask is hot: the schema is built once, a plain string skips zod). */
export function parseTaskName(input: unknown): string {
  if (typeof input === 'string' && input.length > 0 && input.length <= 200) return input;
  return parseOptions(taskNameSchema, input, 'task name');
}

export function resolveTaskOptions(input: TaskOptions | undefined): TaskOptions | undefined {
  return input === undefined ? undefined : (parseOptions(taskSchema, input, 'task options') as TaskOptions);
}
