import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableGauge,
  type ObservableResult,
} from '@opentelemetry/api';
import { Metric, SCOPE, SECONDS_BUCKETS } from './names.ts';

/**
 * taskfleet's metric instruments, from `@opentelemetry/api` (no-ops until an SDK is registered).
 * Unlike tracers, the metrics API hands out no proxy: instruments made before the application started
 * its SDK would stay no-ops, so they are made again whenever the global meter provider changes.
 */
interface Instruments {
  readonly meter: Meter;
  readonly tasks: Counter;
  readonly taskDuration: Histogram;
  readonly groups: Counter;
  readonly cancelLatency: Histogram;
  readonly semaphoreWait: Histogram;
}

let made: { provider: MeterProvider; instruments: Instruments } | undefined;

export function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (made?.provider === provider) return made.instruments;
  const meter = provider.getMeter(SCOPE);
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: [...SECONDS_BUCKETS] } };
  const instruments: Instruments = {
    meter,
    tasks: meter.createCounter(Metric.tasks.name, {
      description:
        'Task attempts that ended, by task name and outcome (succeeded, failed, retried, cancelled, requeued)',
    }),
    taskDuration: meter.createHistogram(Metric.taskDuration.name, {
      ...seconds,
      description: 'Duration of one task attempt, from its start on a worker to its outcome',
    }),
    groups: meter.createCounter(Metric.groups.name, {
      description: 'Task groups that reached a final state, by outcome (succeeded, failed, cancelled)',
    }),
    cancelLatency: meter.createHistogram(Metric.cancelLatency.name, {
      ...seconds,
      description: 'Time from a group stopping (a failure, a cancel) to a running sibling’s signal aborting',
    }),
    semaphoreWait: meter.createHistogram(Metric.semaphoreWait.name, {
      ...seconds,
      description: 'Time acquire() waited for semaphore permits, by semaphore and outcome',
    }),
  };
  made = { provider, instruments };
  return instruments;
}

/** An observable gauge whose callback is removed again by the returned function (at close). */
export function observeGauge(
  metric: (typeof Metric)[keyof typeof Metric],
  description: string,
  observe: (result: ObservableResult<Attributes>) => void | Promise<void>,
): () => void {
  const gauge: ObservableGauge = instruments().meter.createObservableGauge(metric.name, { description });
  gauge.addCallback(observe);
  return () => gauge.removeCallback(observe);
}
