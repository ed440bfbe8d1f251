import { type Link, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import type { TaskJobData } from '../producer/group-client.ts';
import type { CancelReason } from '../shared/cancel-reason.ts';
import { instruments } from '../shared/telemetry/metrics.ts';
import { Attr, Event, Messaging, Span as SpanName } from '../shared/telemetry/names.ts';
import {
  fromTraceparent,
  recordError,
  remoteParent,
  toTraceparent,
  tracer,
  withSpan,
} from '../shared/telemetry/tracing.ts';
import type { TaskJob } from './task-job.ts';

/** How an attempt ended, as metrics and spans label it. */
export type AttemptOutcome = 'succeeded' | 'failed' | 'retried' | 'cancelled' | 'requeued';

/**
 * One attempt of one task, seen by telemetry: a consumer span — a child of the producer's send span
 * (carried in the job data), or, for a task of a group too large for one trace, a root span linked to
 * the group span — and the task counter and duration histogram, labelled with the outcome.
 */
export class TaskTelemetry {
  readonly #span: Span;
  readonly #taskName: string;
  readonly #started = performance.now();
  #ended = false;

  constructor(job: Job<TaskJobData>, task: TaskJob, attempt: number, queue: string, workerId: string) {
    this.#taskName = job.name;
    const carried = fromTraceparent(task.traceparent);
    const linked = task.traceLink;
    const links: Link[] = linked && carried !== undefined ? [{ context: carried }] : [];
    this.#span = tracer().startSpan(
      SpanName.task(job.name),
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          [Attr.messagingSystem]: Messaging.system,
          [Attr.messagingDestination]: queue,
          [Attr.messagingOperationType]: Messaging.process,
          [Attr.messagingMessageId]: job.id ?? '',
          [Attr.groupId]: task.groupId,
          [Attr.taskName]: job.name,
          [Attr.taskIndex]: task.index,
          [Attr.taskAttempt]: attempt,
          [Attr.workerId]: workerId,
        },
      },
      linked ? ROOT_CONTEXT : remoteParent(carried),
    );
  }

  /** Runs the attempt with its span active: semaphore, thread and child-group spans nest under it. */
  run<T>(fn: () => T): T {
    return withSpan(this.#span, fn);
  }

  /** This attempt's span, for the failure reason its siblings are cancelled with. */
  get traceparent(): string | undefined {
    return toTraceparent(this.#span);
  }

  end(
    outcome: AttemptOutcome,
    detail: { readonly error?: unknown; readonly cancel?: CancelReason } = {},
  ): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span.setAttribute(Attr.taskOutcome, outcome);
    if (detail.error !== undefined) recordError(this.#span, detail.error);
    const cancel = detail.cancel;
    if (cancel !== undefined) {
      this.#span.addEvent(Event.taskCancelled, {
        [Attr.cancelKind]: cancel.kind,
        [Attr.cancelReason]: cancel.message,
        ...(cancel.by === undefined
          ? {}
          : { [Attr.cancelByIndex]: cancel.by.index, [Attr.cancelByTaskId]: cancel.by.taskId }),
      });
      // Which task's failure cancelled this one: a link to its span.
      const cause = fromTraceparent(cancel.by?.traceparent);
      if (cause !== undefined) this.#span.addLink({ context: cause });
      this.#span.setStatus({
        code: SpanStatusCode.ERROR,
        message: `cancelled (${cancel.kind}): ${cancel.message}`,
      });
    }
    this.#span.end();
    const labels = { [Attr.taskName]: this.#taskName, [Attr.taskOutcome]: outcome };
    const { tasks, taskDuration } = instruments();
    tasks.add(1, labels);
    taskDuration.record((performance.now() - this.#started) / 1000, labels);
  }
}
