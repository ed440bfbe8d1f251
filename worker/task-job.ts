import type { Job } from 'bullmq';
import type { TaskJobData } from '../producer/group-client.ts';
import { parseTaskJobId } from '../shared/keys.ts';

/** A task as a worker reads it from its BullMQ job: where it belongs, from the job id; the rest from the data. */
export interface TaskJob {
  readonly groupId: string;
  /** The group incarnation, as in the job id. */
  readonly epoch: string;
  readonly index: number;
  readonly data: unknown;
  /** The group's maxConcurrency, if it has one. */
  readonly maxConcurrency: number | undefined;
  /** The producer-side span to continue (or to link to, when `traceLink`). */
  readonly traceparent: string | undefined;
  readonly traceLink: boolean;
}

/** undefined for a job that is not a taskfleet task (someone else's job on the queue). */
export function readTaskJob(job: Job<TaskJobData>): TaskJob | undefined {
  const place = parseTaskJobId(job.id);
  if (place === undefined) return undefined;
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as TaskJobData;
  return {
    ...place,
    data: data.d,
    maxConcurrency: Number.isInteger(data.c) ? data.c : undefined,
    traceparent: typeof data.t === 'string' ? data.t : undefined,
    traceLink: data.k === 1,
  };
}
