import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { CancelReason } from '../shared/cancel-reason.ts';
import type { GroupCounts, GroupState } from '../shared/group-protocol/group-state.ts';
import { Attr, Event, Messaging, Span as SpanName } from '../shared/telemetry/names.ts';
import { toTraceparent, tracer } from '../shared/telemetry/tracing.ts';

/** What each task of a batch carries about tracing (see GroupClient.send). */
export interface TaskTrace {
  /** The batch span: parent of the task spans below `linkFrom`. */
  readonly parent: string | undefined;
  /** The group span: linked from the task spans at or above `linkFrom`, which start traces of their own. */
  readonly link: string | undefined;
  readonly linkFrom: number;
}

interface GroupInfo {
  readonly id: string;
  readonly name: string;
  readonly policy: string;
  readonly queue: string;
}

/**
 * The producer's side of a group's trace: the group span (the trace's root, or a child of the task that
 * opened this group) and a `send` span per batch. Task spans on the workers descend from the batch
 * spans — up to `linkFrom` tasks; past that they start their own trace with a link to the group span,
 * so a group of a million tasks does not make one unreadable trace.
 */
export class GroupTrace {
  readonly #span: Span;
  readonly #group: GroupInfo;
  readonly #linkFrom: number;
  #cancelNoted = false;
  #ended = false;

  constructor(group: GroupInfo, linkFrom: number) {
    this.#group = group;
    this.#linkFrom = linkFrom;
    this.#span = tracer().startSpan(
      SpanName.group,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [Attr.messagingSystem]: Messaging.system,
          [Attr.messagingDestination]: group.queue,
          [Attr.groupId]: group.id,
          [Attr.groupName]: group.name,
          [Attr.groupPolicy]: group.policy,
        },
      },
      context.active(),
    );
  }

  /** Runs one batch send inside a `send` span; `send` gets what the batch's tasks must carry. */
  async send<T>(count: number, send: (trace: TaskTrace) => Promise<T>): Promise<T> {
    const span = tracer().startSpan(
      SpanName.send(this.#group.queue),
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [Attr.messagingSystem]: Messaging.system,
          [Attr.messagingDestination]: this.#group.queue,
          [Attr.messagingOperationType]: Messaging.send,
          [Attr.messagingBatchCount]: count,
          [Attr.groupId]: this.#group.id,
        },
      },
      trace.setSpan(context.active(), this.#span),
    );
    try {
      return await send({
        parent: toTraceparent(span),
        link: toTraceparent(this.#span),
        linkFrom: this.#linkFrom,
      });
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /** The group span gets a `group.cancel` event with the reason (once). */
  cancelled(reason: CancelReason): void {
    if (this.#ended || this.#cancelNoted) return;
    this.#cancelNoted = true;
    this.#span.addEvent(Event.groupCancel, {
      [Attr.cancelKind]: reason.kind,
      [Attr.cancelReason]: reason.message,
      ...(reason.by === undefined
        ? {}
        : { [Attr.cancelByIndex]: reason.by.index, [Attr.cancelByTaskId]: reason.by.taskId }),
    });
  }

  /** Ends the group span with what the producer last knew of the group. */
  end(
    status:
      | {
          readonly state: GroupState;
          readonly counts?: GroupCounts;
          readonly reason?: CancelReason | undefined;
        }
      | undefined,
    error?: unknown,
  ): void {
    if (this.#ended) return;
    if (status !== undefined) {
      if (status.reason !== undefined) this.cancelled(status.reason);
      this.#span.setAttribute(Attr.groupState, status.state);
      if (status.counts !== undefined) this.#span.setAttribute(Attr.groupTaskCount, status.counts.total);
      if (status.state === 'failed' || status.state === 'cancelled') {
        this.#span.setStatus({ code: SpanStatusCode.ERROR, message: `group ${status.state}` });
      }
    } else if (error !== undefined) {
      this.#span.recordException(error as Error);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    }
    this.#ended = true;
    this.#span.end();
  }
}
