import { cancelReason } from '../shared/cancel-reason.ts';
import type { GroupPolicy } from '../shared/group-protocol/group-state.ts';
import { parseOptions, safeId } from '../shared/options.ts';
import { GroupClient } from './group-client.ts';
import { GroupHandle } from './group-handle.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import {
  type ProducerOptions,
  type ResolvedProducerOptions,
  resolveGroupOptions,
  resolveProducerOptions,
  type TaskGroupOptions,
} from './options.ts';
import { type GroupResult, TaskGroup } from './task-group.ts';

/**
 * Creates task groups on a queue and attaches to existing ones.
 *
 *   const producer = new Producer({ connection: 'redis://127.0.0.1:6379', queue: 'tasks' });
 *   {
 *     await using tg = producer.taskGroup();
 *     tg.createTask('fetch', { url });
 *   } // waits for every task; throws GroupFailedError if one failed
 */
export class Producer {
  readonly options: ResolvedProducerOptions;
  readonly #client: GroupClient;
  readonly #leases: LeaseKeeper;

  constructor(options: ProducerOptions) {
    this.options = resolveProducerOptions(options);
    this.#client = new GroupClient(this.options, 'producer');
    this.#leases = new LeaseKeeper(this.#client.scripts, this.options.leaseMs);
  }

  /**
   * A new group, for `await using`. With a body instead, the group is closed and awaited when the body
   * returns, and cancelled if the body throws (asyncio's behaviour, which `await using` cannot give:
   * JavaScript does not tell a disposer whether its block threw).
   */
  taskGroup<P extends GroupPolicy = 'fail-fast'>(
    options?: TaskGroupOptions & { readonly policy?: P },
  ): TaskGroup<P>;
  taskGroup<P extends GroupPolicy = 'fail-fast'>(
    options: TaskGroupOptions & { readonly policy?: P },
    body: (tg: TaskGroup<P>) => Promise<void> | void,
  ): Promise<GroupResult<P>>;
  taskGroup<P extends GroupPolicy = 'fail-fast'>(
    options: TaskGroupOptions & { readonly policy?: P } = {},
    body?: (tg: TaskGroup<P>) => Promise<void> | void,
  ): TaskGroup<P> | Promise<GroupResult<P>> {
    const tg = new TaskGroup<P>(this.#client, this.#leases, resolveGroupOptions(options, this.options));
    return body === undefined ? tg : runBody(tg, body);
  }

  /** Resolves once connected to Redis; optional (commands wait for the connection anyway). */
  ready(): Promise<void> {
    return this.#client.ready();
  }

  /** Attaches to a group by id, from any process: status, wait, cancel. */
  group(id: string): GroupHandle {
    // The id is spelled into keys: one that could break them is refused (InvalidArgumentError).
    return new GroupHandle(this.#client, parseOptions(safeId('group id'), id, 'group id'));
  }

  /**
   * Closes the connections. Groups this producer left open are not closed: their lease runs out and
   * the fleet cancels them (`producer-lost`), as if this process had died.
   */
  async close(): Promise<void> {
    this.#leases.stop();
    await this.#client.close();
  }
}

async function runBody<P extends GroupPolicy>(
  tg: TaskGroup<P>,
  body: (tg: TaskGroup<P>) => Promise<void> | void,
): Promise<GroupResult<P>> {
  try {
    await body(tg);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await tg
      .cancelWith(cancelReason('producer-error', `the group's block threw: ${message}`))
      .catch(() => undefined);
    // Like asyncio, leave only once every task has settled; the body's error is what the caller sees.
    await tg.wait().catch(() => undefined);
    throw error;
  }
  return tg.wait();
}
