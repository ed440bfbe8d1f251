import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import type { GroupClient, TaskJobData } from '../producer/group-client.ts';
import type { LeaseKeeper } from '../producer/lease-keeper.ts';
import type { TaskGroup } from '../producer/task-group.ts';
import { type CancelReason, cancelReason } from '../shared/cancel-reason.ts';
import {
  DataTooLargeError,
  PermitLostError,
  ResultTooLargeError,
  serializeError,
  TaskCancelledError,
  TaskDataError,
  UnknownTaskError,
} from '../shared/errors.ts';
import type { FinishKind } from '../shared/group-protocol/group-scripts.ts';
import type { LocalPermit, LocalSemaphore } from '../shared/local-semaphore.ts';
import { encodeCancelled, encodeError, encodeValue, toJson } from '../shared/task-codec.ts';
import { countGroup } from '../shared/telemetry/group-metrics.ts';
import { AttemptPermits } from './attempt-permits.ts';
import type { GlobalLimits } from './global-limits.ts';
import { GroupSteps } from './group-steps.ts';
import type { ResolvedWorkerOptions } from './options.ts';
import type { RunningTasks } from './running-tasks.ts';
import type { SlotHolder, SlotPool } from './slot-pool.ts';
import { type Attempt, createTaskContext } from './task-context.ts';
import { readTaskJob } from './task-job.ts';
import type { TaskRegistry } from './task-registry.ts';
import { TaskTelemetry } from './task-telemetry.ts';
import type { ThreadPool } from './thread-pool.ts';

export interface RunnerDeps {
  readonly client: GroupClient;
  readonly leases: LeaseKeeper;
  readonly registry: TaskRegistry;
  readonly running: RunningTasks;
  readonly slots: SlotPool;
  readonly localLimits: ReadonlyMap<string, LocalSemaphore>;
  readonly limits: GlobalLimits;
  readonly threads: ThreadPool;
  readonly options: ResolvedWorkerOptions;
  /** Host and pid: written into the group's run hash, so status shows who runs what. */
  readonly workerId: string;
}

type HandlerOutcome =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'error'; readonly error: unknown }
  /** The signal aborted and the handler did not return within cancelGraceMs: it is counted cancelled, and still running. */
  | { readonly kind: 'abandoned'; readonly handler: Promise<unknown> };

/** Errors that would fail the same way on every attempt: no retry. */
function isDeterministic(error: unknown): boolean {
  return (
    error instanceof UnrecoverableError ||
    (error instanceof Error && error.name === 'UnrecoverableError') ||
    error instanceof UnknownTaskError ||
    error instanceof ResultTooLargeError ||
    error instanceof TaskDataError
  );
}

/**
 * Runs one attempt of one task: the BullMQ processor. In order:
 *   start (may refuse: settled, group stopped) → permits → handler → finish (GroupSteps).
 * The group is told how the attempt ended before BullMQ is, so a crash in between re-runs the attempt
 * rather than losing its outcome.
 */
export class TaskRunner {
  readonly #deps: RunnerDeps;
  /** Starts and finishes of one group's tasks that happen together go to Redis as one script call. */
  readonly #steps: GroupSteps;
  /** Jobs this runner's processor saw, so a 'failed' event can tell BullMQ's own failures apart. */
  readonly #seen = new WeakSet<Job>();
  /** Numbers this process's attempts, so two attempts of one job here never share a run token. */
  #attempts = 0;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
    this.#steps = new GroupSteps(deps.client.scripts);
  }

  /** Whether the processor ran for this job object (BullMQ fails some jobs without calling it). */
  ran(job: Job): boolean {
    return this.#seen.has(job);
  }

  async process(
    job: Job<TaskJobData>,
    token: string,
    bullSignal: AbortSignal | undefined,
    holder: SlotHolder,
  ): Promise<void> {
    this.#seen.add(job);
    const task = readTaskJob(job);
    if (task === undefined)
      throw new UnrecoverableError(`Job ${job.id} is not a taskfleet task (its id names no group)`);
    const attempt = job.attemptsMade + 1;
    // Who runs it (status shows it), and which attempt: a late finish of an attempt whose job was taken
    // over after a stall is told apart from the attempt running now (see FinishRequest.token).
    const runToken = `${this.#deps.workerId}/${job.id}/${attempt}/${++this.#attempts}`;
    const decision = await this.#steps
      .start(task, { index: task.index, token: runToken })
      .catch((error: unknown) => {
        // E.g. the group's keys were overwritten (KeyTypeError): that job fails, the worker goes on.
        this.#deps.options.logger.error(`could not start task ${task.index} of group ${task.groupId}`, error);
        throw error;
      });
    // Settled, cancelled, gone or left from an earlier group of that id (another epoch): the handler
    // never runs and the job completes as a no-op.
    if (decision !== 'run') return;

    const controller = new AbortController();
    const unregister = this.#deps.running.add(task.groupId, task.index, controller);
    const onBullAbort = (): void =>
      controller.abort(new TaskCancelledError(cancelReason('task', 'cancelled with worker.cancelJob()')));
    bullSignal?.addEventListener('abort', onBullAbort, { once: true });
    const telemetry = new TaskTelemetry(job, task, attempt, this.#deps.options.queue, this.#deps.workerId);
    const run: Attempt = {
      job,
      task,
      number: attempt,
      runToken,
      signal: controller.signal,
      holder,
      children: [],
      permits: new AttemptPermits(controller),
    };
    let outcome: HandlerOutcome;
    try {
      outcome = await telemetry.run(() => this.#runHandler(run));
    } finally {
      bullSignal?.removeEventListener('abort', onBullAbort);
      unregister();
      // Most tasks open no child group and hold no fleet-wide permit: no extra awaits for them.
      if (run.children.length > 0) await closeChildren(run.children);
      const releasing = run.permits.end();
      if (releasing !== undefined) await releasing;
      this.#deps.limits.releaseGroup(task.groupId);
    }
    try {
      await this.#record(run, outcome, token, telemetry);
    } finally {
      telemetry.end('failed'); // no-op once #record has ended it; closes the span if it threw first
      // An abandoned handler keeps its slot until it really returns: the concurrency bound stays true.
      if (outcome.kind === 'abandoned') await outcome.handler.catch(() => undefined);
    }
  }

  async #runHandler(run: Attempt): Promise<HandlerOutcome> {
    const { job, task, signal } = run;
    const definition = this.#deps.registry.get(job.name);
    if (definition === undefined) {
      return { kind: 'error', error: new UnknownTaskError(job.name, this.#deps.registry.names()) };
    }
    const { limits, slots } = this.#deps;
    const permits: LocalPermit[] = [];
    try {
      // Fleet-wide first (the group's turn, then declared limits by name), then local: always the same
      // order, so two tasks never wait on each other. Waiting for a fleet-wide permit parks the slot.
      if (task.maxConcurrency !== undefined) {
        run.permits.add(
          await slots.parkForPermit(
            run.holder,
            limits.forGroup(task.groupId, task.maxConcurrency).acquire({ signal }),
          ),
        );
      }
      for (const [name, n] of definition.limits) {
        run.permits.add(
          await slots.parkForPermit(run.holder, limits.semaphore(name).acquire({ permits: n, signal })),
        );
      }
      for (const [limit, n] of definition.local) {
        const semaphore = this.#deps.localLimits.get(limit);
        if (semaphore !== undefined) permits.push(await semaphore.acquire({ permits: n, signal }));
      }
      const { client, leases, threads, options } = this.#deps;
      const deps = { client, leases, slots, threads, limits, maxDataBytes: options.maxDataBytes };
      const ctx = createTaskContext(deps, run);
      const handler = (async () => definition.handler(task.data, ctx))();
      return await withCancelGrace(handler, signal, options.cancelGraceMs);
    } catch (error) {
      return { kind: 'error', error };
    } finally {
      for (const permit of permits) permit.release();
    }
  }

  async #record(
    run: Attempt,
    outcome: HandlerOutcome,
    token: string,
    telemetry: TaskTelemetry,
  ): Promise<void> {
    const { job, task, signal } = run;
    const finish = async (kind: FinishKind, payload: string, failReason?: CancelReason): Promise<void> => {
      const result = await this.#steps.finish(task, {
        index: task.index,
        kind,
        payload,
        failReason,
        token: run.runToken,
      });
      if (result.finished) countGroup(result.state);
    };

    const aborted: unknown = signal.aborted ? signal.reason : undefined;
    if (aborted instanceof TaskCancelledError) {
      if (aborted.kind === 'shutdown') {
        // A handler that finished as its worker began to shut down keeps its result (recorded below).
        if (outcome.kind !== 'value') {
          // Back to the queue without using up an attempt: another worker runs it from the start.
          telemetry.end('requeued');
          await finish('release', '');
          await job.moveToWait(token);
          throw new WaitingError();
        }
      } else {
        const cancel = reasonOf(aborted);
        telemetry.end('cancelled', { cancel });
        await finish('cxl', encodeCancelled(cancel));
        // Cancelled tasks are not retried.
        throw new UnrecoverableError(`cancelled (${cancel.kind}): ${cancel.message}`);
      }
    }

    let error: unknown;
    if (aborted instanceof PermitLostError) {
      // It ran without the limit it needed for a while: whatever it returned is not trusted; it may retry.
      error = aborted;
    } else if (outcome.kind === 'value') {
      let json: string | undefined;
      try {
        json = toJson(outcome.value, `the result of task \`${job.name}\``, this.#deps.options.maxResultBytes);
      } catch (encodeFailure) {
        error =
          encodeFailure instanceof DataTooLargeError
            ? new ResultTooLargeError(encodeFailure.bytes, encodeFailure.limit)
            : encodeFailure;
      }
      if (error === undefined) {
        telemetry.end('succeeded');
        // Nothing to cancel can follow from a success: let the next task run while this one is written.
        // (Failures keep the slot until recorded, so a queued sibling never starts after one.)
        if (outcome.kind === 'value') this.#deps.slots.release(run.holder);
        await finish('ok', encodeValue(json));
        return;
      }
    } else {
      error = outcome.kind === 'error' ? outcome.error : new Error('handler abandoned');
    }

    const attempts = job.opts.attempts ?? 1;
    if (!isDeterministic(error) && job.attemptsMade + 1 < attempts) {
      telemetry.end('retried', { error });
      await finish('release', '');
      throw error; // BullMQ retries it, with the task's backoff
    }
    telemetry.end('failed', { error });
    const serialized = serializeError(error);
    const traceparent = telemetry.traceparent;
    const failReason = cancelReason(
      'failure',
      `task ${task.index} (${job.name}) failed: ${serialized.message}`,
      {
        groupId: task.groupId,
        index: task.index,
        taskId: job.id ?? '',
        taskName: job.name,
        ...(traceparent === undefined ? {} : { traceparent }),
      },
    );
    await finish('err', encodeError(serialized, job.name), failReason);
    const final = new UnrecoverableError(serialized.message);
    if (serialized.stack !== undefined) final.stack = serialized.stack;
    throw final;
  }
}

function reasonOf(error: TaskCancelledError): CancelReason {
  return cancelReason(error.kind, error.reason, error.by);
}

/**
 * Waits for the handler; once the signal has aborted, waits at most `graceMs` more. A handler that
 * ignores its signal cannot hold its group hostage (asyncio would wait forever).
 */
function withCancelGrace(
  handler: Promise<unknown>,
  signal: AbortSignal,
  graceMs: number,
): Promise<HandlerOutcome> {
  return new Promise<HandlerOutcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => resolve({ kind: 'abandoned', handler }), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const settle = (outcome: HandlerOutcome): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    handler.then(
      (value) => settle({ kind: 'value', value }),
      (error: unknown) => settle({ kind: 'error', error }),
    );
  });
}

/** Structured concurrency: a child group does not outlive the task that opened it. */
async function closeChildren(children: readonly TaskGroup[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      await child.cancelWith(cancelReason('parent', 'the task that opened it ended')).catch(() => undefined);
      await child.close().catch(() => undefined);
    }),
  );
}
