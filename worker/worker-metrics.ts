import type { Attributes, BatchObservableResult, Observable } from '@opentelemetry/api';
import type { GroupClient } from '../producer/group-client.ts';
import { instruments, observeGauge } from '../shared/telemetry/metrics.ts';
import { Attr, Metric } from '../shared/telemetry/names.ts';
import type { GlobalLimits } from './global-limits.ts';
import type { JobLoop } from './job-loop.ts';

export interface WorkerGaugeSources {
  readonly loop: JobLoop;
  readonly client: GroupClient;
  readonly limits: GlobalLimits;
  readonly queue: string;
  readonly workerId: string;
}

/**
 * The gauges a worker reports when its metrics are read (a Prometheus scrape, an OTLP export): its
 * active tasks, the queue's jobs by state, and the permits in use, limit and waiters of every fleet-wide
 * semaphore it uses. Returns the function that stops reporting them (at close).
 */
export function observeWorker(sources: WorkerGaugeSources): () => void {
  const { loop, client, limits, queue, workerId } = sources;
  const stops = [
    observeGauge(
      Metric.activeTasks,
      'Tasks this worker holds: running, or parked while they wait',
      (result) => {
        result.observe(loop.active, { [Attr.queue]: queue, [Attr.workerId]: workerId });
      },
    ),
    observeGauge(Metric.queueJobs, 'Jobs in the queue by BullMQ state', async (result) => {
      for (const [state, count] of Object.entries(await client.jobCounts())) {
        result.observe(count, { [Attr.queue]: queue, [Attr.queueState]: state });
      }
    }),
  ];
  const { meter } = instruments();
  const used = meter.createObservableGauge(Metric.semaphoreUsed.name, {
    description: 'Permits of a fleet-wide semaphore held right now',
  });
  const limit = meter.createObservableGauge(Metric.semaphoreLimit.name, {
    description: 'The limit of a fleet-wide semaphore',
  });
  const waiters = meter.createObservableGauge(Metric.semaphoreWaiters.name, {
    description: 'Waiters queued for a fleet-wide semaphore',
  });
  // One status() per semaphore feeds all three gauges.
  const observeSemaphores = async (result: BatchObservableResult<Attributes>): Promise<void> => {
    for (const semaphore of limits.named()) {
      const status = await semaphore.status();
      const labels = { [Attr.semaphoreName]: semaphore.name };
      result.observe(used, status.used, labels);
      result.observe(limit, status.limit, labels);
      result.observe(waiters, status.waiters.length, labels);
    }
  };
  const observables: Observable<Attributes>[] = [used, limit, waiters];
  meter.addBatchObservableCallback(observeSemaphores, observables);
  return () => {
    for (const stop of stops) stop();
    meter.removeBatchObservableCallback(observeSemaphores, observables);
  };
}
