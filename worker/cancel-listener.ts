import { type CancelReason, cancelReason, parseCancelReason } from '../shared/cancel-reason.ts';
import { TaskCancelledError } from '../shared/errors.ts';
import type { GroupScripts } from '../shared/group-protocol/group-scripts.ts';
import { isActive } from '../shared/group-protocol/group-state.ts';
import type { Subscriber } from '../shared/subscriber.ts';
import { instruments } from '../shared/telemetry/metrics.ts';
import { Attr } from '../shared/telemetry/names.ts';
import type { Logger } from './options.ts';
import type { RunningTasks } from './running-tasks.ts';

/**
 * Aborts running tasks when their group (or they alone) are cancelled, on two paths:
 * - fast: the queue's cancel broadcast (pub/sub), milliseconds;
 * - durable: re-reading the state of the groups with running tasks after every reconnect of the
 *   subscriber and every `cancelPollMs`, so a missed broadcast still cancels.
 */
export class CancelListener {
  readonly #subscriber: Subscriber;
  readonly #scripts: GroupScripts;
  readonly #running: RunningTasks;
  readonly #pollMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #offReconnect: (() => void) | undefined;
  #polling = false;

  constructor(
    subscriber: Subscriber,
    scripts: GroupScripts,
    running: RunningTasks,
    pollMs: number,
    logger: Logger,
  ) {
    this.#subscriber = subscriber;
    this.#scripts = scripts;
    this.#running = running;
    this.#pollMs = pollMs;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#subscriber.subscribe(this.#scripts.keys.cancelChannel, (m) =>
      this.#onMessage(m),
    );
    this.#offReconnect = this.#subscriber.onReconnect(() => void this.poll());
    this.#timer = setInterval(() => void this.poll(), this.#pollMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#offReconnect?.();
    await this.#unsubscribe?.();
  }

  /** Re-reads the durable state of every group with a task running here. */
  async poll(): Promise<void> {
    if (this.#polling) return;
    const running = this.#running.snapshot();
    if (running.size === 0) return;
    this.#polling = true;
    try {
      for (const group of await this.#scripts.cancelRequests(running)) {
        if (group.state !== undefined && !isActive(group.state)) {
          const reason =
            parseCancelReason(group.reason) ?? cancelReason('user', `the group is ${group.state}`);
          this.#abortGroup(group.id, reason, group.stoppedAt);
          continue;
        }
        for (const [index, raw] of group.tasks) {
          const reason = parseCancelReason(raw) ?? cancelReason('task', 'cancelled');
          this.#running.abortTask(group.id, index, new TaskCancelledError(reason));
        }
      }
    } catch (error) {
      // Redis unreachable: the next poll, or the reconnect, tries again.
      this.#logger.warn('could not re-read cancellation state', error);
    } finally {
      this.#polling = false;
    }
  }

  #onMessage(raw: string): void {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      this.#logger.warn('ignored a malformed message on the cancel channel', raw.slice(0, 200));
      return;
    }
    const { g, i, r, at } = (typeof message === 'object' && message !== null ? message : {}) as Record<
      string,
      unknown
    >;
    const reason = parseCancelReason(r);
    if (typeof g !== 'string' || reason === undefined || (i !== undefined && !Number.isInteger(i))) {
      this.#logger.warn('ignored a malformed message on the cancel channel', raw.slice(0, 200));
      return;
    }
    if (typeof i === 'number') this.#running.abortTask(g, i, new TaskCancelledError(reason));
    else this.#abortGroup(g, reason, typeof at === 'number' ? at : undefined);
  }

  /** Aborts the group's tasks here, and measures how long the stop took to reach them. */
  #abortGroup(groupId: string, reason: CancelReason, stoppedAt: number | undefined): void {
    const aborted = this.#running.abortGroup(groupId, new TaskCancelledError(reason));
    if (aborted === 0 || stoppedAt === undefined) return;
    // Redis time against this host's clock: exact on one host, as good as clock sync across hosts.
    const seconds = Math.max(0, Date.now() - stoppedAt) / 1000;
    const { cancelLatency } = instruments();
    for (let k = 0; k < aborted; k++) cancelLatency.record(seconds, { [Attr.cancelKind]: reason.kind });
  }
}
