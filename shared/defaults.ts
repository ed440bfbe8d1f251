/**
 * Every default taskfleet applies, in one place. Options documented elsewhere refer here.
 * Durations are milliseconds; sizes are bytes of JSON.
 */
export const defaults = {
  /** Redis key prefix, shared by taskfleet's keys and the BullMQ queue. */
  prefix: 'taskfleet',

  // ---- producer / task group ----
  /** fail-fast, like asyncio.TaskGroup. */
  policy: 'fail-fast',
  /** Tasks sent to Redis per round trip (a flush also happens at the end of each event-loop turn). */
  batchSize: 500,
  /** Largest task data accepted by createTask. BullMQ itself has no limit; Redis strings stop at 512 MB. */
  maxDataBytes: 1024 * 1024,
  /** An open group's producer renews its lease this often / 3; a lease not renewed for this long cancels the group. */
  leaseMs: 30_000,
  /** A finished group's keys (state, results) are kept this long, then expire. */
  retentionMs: 24 * 60 * 60 * 1000,
  /** BullMQ job retention, the same shape as BullMQ's removeOnComplete / removeOnFail. */
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  /** Attempts per task (BullMQ `attempts`): 1 = no retry. */
  attempts: 1,
  /**
   * Tracing: the first this-many tasks of a group are children of the group's trace; later ones start
   * traces of their own, linked to the group span, so a huge group stays readable.
   */
  taskSpanLinksAbove: 1000,

  // ---- semaphores ----
  /** A held permit's lease; renewed every leaseMs / 3 while held, so a dead holder's permits return within it. */
  semaphoreLeaseMs: 30_000,

  // ---- worker ----
  concurrency: 1,
  /** Tasks a worker may hold while they wait (for a child group) without a concurrency slot. */
  maxParkedPerSlot: 4,
  /** On close(), running tasks get this long to finish before their signal aborts and they go back to the queue. */
  shutdownGraceMs: 10_000,
  /** After a task's signal aborts, how long the group waits for its handler before counting it cancelled anyway. */
  cancelGraceMs: 10_000,
  /** Largest result a handler may return. */
  maxResultBytes: 1024 * 1024,
  /** How often a worker re-reads the state of the groups it is running tasks of (the durable cancel path). */
  cancelPollMs: 1000,
  /** How often a worker runs maintenance: deadlines, lost producers, stuck groups. */
  maintenanceIntervalMs: 1000,
  /** A group with no progress for this long is reconciled against its BullMQ jobs. */
  staleGroupMs: 60_000,
  /** BullMQ lock and stall settings (BullMQ's own defaults). */
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 1,
  /** A worker publishes a heartbeat this often (one write); after 3 missed beats it drops off the list. */
  heartbeatIntervalMs: 2000,

  // ---- CLI and dashboard ----
  /** The queue the CLI and the dashboard use when none is given. */
  queue: 'tasks',
  /** Where the CLI looks for Redis without `--redis` or REDIS_URL. */
  redisUrl: 'redis://127.0.0.1:6379',
  /** How long the CLI waits for Redis to answer before it says Redis is unreachable. */
  connectTimeoutMs: 3000,
  /** How often `taskfleet watch` re-reads a group's counts. */
  watchIntervalMs: 250,
  /** Groups `taskfleet groups` and the dashboard list. */
  groupsListed: 20,
  /** `taskfleet dashboard`: loopback only, unless a token protects it. */
  dashboardHost: '127.0.0.1',
  dashboardPort: 4600,
  /** How often the dashboard pushes fresh numbers to open pages. */
  dashboardRefreshMs: 1000,
  /** Tasks per page on the dashboard's group page. */
  dashboardTasksPerPage: 100,
} as const;
