/**
 * Every OpenTelemetry name taskfleet emits — span names, attribute keys, metric names — spelled once.
 * Messaging attributes follow the stable `messaging.*` semantic conventions; the rest are `taskfleet.*`.
 */

/** Instrumentation scope of taskfleet's tracer and meter. */
export const SCOPE = 'taskfleet';

export const Span = {
  /** Producer side: a whole group, from creation to the end its producer sees. The trace's root. */
  group: 'taskfleet.group',
  /** Producer side: one batch of tasks sent to the queue. */
  send: (queue: string) => `send ${queue}`,
  /** Worker side: one attempt of one task. */
  task: (taskName: string) => `process ${taskName}`,
  semaphoreAcquire: 'semaphore.acquire',
  toThread: 'taskfleet.to_thread',
} as const;

export const Event = {
  /** On the group span: the group was cancelled or is failing (reason attributes). */
  groupCancel: 'group.cancel',
  /** On a task span: the task was cancelled (reason attributes, and a link to the failing task). */
  taskCancelled: 'task.cancelled',
} as const;

export const Attr = {
  // Stable messaging conventions.
  messagingSystem: 'messaging.system',
  messagingDestination: 'messaging.destination.name',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingMessageId: 'messaging.message.id',
  messagingBatchCount: 'messaging.batch.message_count',
  // taskfleet.
  groupId: 'taskfleet.group.id',
  groupName: 'taskfleet.group.name',
  groupPolicy: 'taskfleet.group.policy',
  groupTaskCount: 'taskfleet.group.task_count',
  groupState: 'taskfleet.group.state',
  groupParent: 'taskfleet.group.parent',
  taskName: 'taskfleet.task.name',
  taskIndex: 'taskfleet.task.index',
  taskAttempt: 'taskfleet.task.attempt',
  taskOutcome: 'taskfleet.task.outcome',
  workerId: 'taskfleet.worker.id',
  cancelKind: 'taskfleet.cancel.kind',
  cancelReason: 'taskfleet.cancel.reason',
  cancelByIndex: 'taskfleet.cancel.by.index',
  cancelByTaskId: 'taskfleet.cancel.by.task_id',
  semaphoreName: 'taskfleet.semaphore.name',
  semaphorePermits: 'taskfleet.semaphore.permits',
  semaphoreLimit: 'taskfleet.semaphore.limit',
  semaphoreQueuePosition: 'taskfleet.semaphore.queue_position',
  semaphoreWaitMs: 'taskfleet.semaphore.wait_ms',
  semaphoreOutcome: 'taskfleet.semaphore.outcome',
  threadModule: 'taskfleet.thread.module',
  threadExport: 'taskfleet.thread.export',
  /** Metric label: a BullMQ job state (wait, active, delayed ...). */
  queueState: 'taskfleet.queue.state',
  queue: 'taskfleet.queue',
} as const;

/** Values of `messaging.system` and `messaging.operation.type`. */
export const Messaging = { system: 'bullmq', send: 'send', process: 'process' } as const;

/**
 * Metric names as the code creates them. The Prometheus exporter turns dots into underscores and adds
 * `_total` to counters; it does not add units, so durations carry `_seconds` in their name (Prometheus
 * practice). `prometheusNames()` gives the series names, which is what the Grafana dashboard queries.
 */
export const Metric = {
  tasks: { name: 'taskfleet.tasks', unit: '', kind: 'counter' },
  taskDuration: { name: 'taskfleet.task.duration_seconds', unit: 's', kind: 'histogram' },
  groups: { name: 'taskfleet.groups', unit: '', kind: 'counter' },
  cancelLatency: { name: 'taskfleet.cancel.latency_seconds', unit: 's', kind: 'histogram' },
  semaphoreWait: { name: 'taskfleet.semaphore.wait_seconds', unit: 's', kind: 'histogram' },
  semaphoreUsed: { name: 'taskfleet.semaphore.permits_in_use', unit: '', kind: 'gauge' },
  semaphoreLimit: { name: 'taskfleet.semaphore.limit', unit: '', kind: 'gauge' },
  semaphoreWaiters: { name: 'taskfleet.semaphore.waiters', unit: '', kind: 'gauge' },
  activeTasks: { name: 'taskfleet.worker.active_tasks', unit: '', kind: 'gauge' },
  queueJobs: { name: 'taskfleet.queue.jobs', unit: '', kind: 'gauge' },
} as const;

/** Histogram buckets in seconds that still resolve milliseconds (the SDK defaults suit milliseconds). */
export const SECONDS_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
] as const;

/** The series names a Prometheus scrape shows for a metric (histograms: _bucket, _sum, _count). */
export function prometheusNames(metric: (typeof Metric)[keyof typeof Metric]): string[] {
  const base = metric.name.replaceAll('.', '_');
  if (metric.kind === 'counter') return [`${base}_total`];
  if (metric.kind === 'histogram') return [`${base}_bucket`, `${base}_sum`, `${base}_count`];
  return [base];
}
