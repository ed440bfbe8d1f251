import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { SCOPE } from './names.ts';

/**
 * Tracing helpers for library code: only `@opentelemetry/api`, which is a no-op until an application
 * registers an SDK (see taskfleet/telemetry). A span context crosses processes inside the task's job
 * data as a W3C `traceparent` string, so it needs no globally registered propagator.
 */

let cached: Tracer | undefined;

/** The API returns a proxy tracer, so an SDK started after this module loaded still receives spans. */
export function tracer(): Tracer {
  cached ??= trace.getTracer(SCOPE);
  return cached;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** `00-<trace id>-<span id>-<flags>`, or undefined when tracing is off (the span context is invalid). */
export function toTraceparent(span: Span | SpanContext | undefined): string | undefined {
  if (span === undefined) return undefined;
  const sc = 'spanContext' in span ? span.spanContext() : span;
  if (!isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`;
}

export function fromTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value);
  if (match === null) return undefined;
  const [, traceId = '', spanId = '', flags = '00'] = match;
  const sc: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** A context whose parent span is the given remote span context (or the root context). */
export function remoteParent(sc: SpanContext | undefined): Context {
  return sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc);
}

/** Runs `fn` with `span` as the active span, so spans started inside become its children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** Marks a span failed with the error (exception event and ERROR status). */
export function recordError(span: Span, error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/** Runs `fn` in a child span of the active one, ending it when `fn` settles (failed if it throws). */
export async function traced<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer().startSpan(name, { attributes });
  try {
    return await withSpan(span, () => fn(span));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}
