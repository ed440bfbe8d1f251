import type { RedisClient } from '../shared/connection.ts';
import type { GroupScripts } from '../shared/group-protocol/group-scripts.ts';
import { type GroupStatus, isFinal } from '../shared/group-protocol/group-state.ts';
import { taskJobId } from '../shared/keys.ts';
import { decodeOutcome } from '../shared/task-codec.ts';

export type TaskRowStatus = 'succeeded' | 'failed' | 'cancelled' | 'running' | 'pending';

/** One task of a group as the dashboard's group page shows it. */
export interface TaskRow {
  readonly index: number;
  readonly jobId: string;
  /** From the BullMQ job (or the failure), undefined once BullMQ has removed the job. */
  readonly name: string | undefined;
  readonly status: TaskRowStatus;
  /** Attempts made (BullMQ `attemptsMade`); undefined once the job is gone. */
  readonly attempts: number | undefined;
  /** The last attempt's run time, ms (so far, for a running task); undefined when unknown. */
  readonly durationMs: number | undefined;
  /** The error message, the cancel reason, or the start of the result's JSON. */
  readonly detail: string;
}

const PREVIEW_CHARS = 80;

/**
 * Rows for tasks [from, from + count) of a group. Outcomes come from the group's `out` hash; attempts
 * and timing from the BullMQ job hash while BullMQ keeps the job (see removeOnComplete/removeOnFail):
 * taskfleet writes nothing per task for this, so the hot path stays as it is.
 */
export async function readTaskRows(
  redis: RedisClient,
  scripts: GroupScripts,
  status: GroupStatus,
  from: number,
  count: number,
): Promise<TaskRow[]> {
  const end = Math.min(status.counts.total, from + count);
  if (end <= from) return [];
  const indexes = Array.from({ length: end - from }, (_, k) => from + k);
  const jobIds = indexes.map((index) => taskJobId(status.id, status.epoch, index));
  const pipeline = redis.pipeline().time();
  for (const jobId of jobIds)
    pipeline.hmget(scripts.keys.job(jobId), 'name', 'atm', 'processedOn', 'finishedOn');
  const [outcomes, running, replies] = await Promise.all([
    scripts.outcomes(status.id, from, indexes.length),
    scripts.running(status.id),
    pipeline.exec(),
  ]);
  const [seconds = '0', micros = '0'] = (replies?.[0]?.[1] ?? []) as string[];
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const final = isFinal(status.state);
  return indexes.map((index, k) => {
    const jobId = jobIds[k] ?? '';
    const [name, atm, processedOn, finishedOn] = (replies?.[k + 1]?.[1] ?? []) as (string | null)[];
    const started = processedOn ? Number(processedOn) : undefined;
    const ended = finishedOn ? Number(finishedOn) : undefined;
    const raw = outcomes[k] ?? null;
    const base = {
      index,
      jobId,
      name: name ?? undefined,
      attempts: atm === null || atm === undefined ? undefined : Number(atm),
    };
    if (raw === null) {
      const isRunning = running[String(index)] !== undefined;
      const status: TaskRowStatus = isRunning ? 'running' : final ? 'cancelled' : 'pending';
      return {
        ...base,
        status,
        durationMs: isRunning && started !== undefined ? Math.max(0, now - started) : undefined,
        detail: status === 'cancelled' ? 'cancelled before it started' : '',
      };
    }
    const outcome = decodeOutcome(raw, () => ({ groupId: status.id, index, taskId: jobId }));
    const durationMs = started !== undefined && ended !== undefined ? ended - started : undefined;
    if (outcome.status === 'fulfilled') {
      return { ...base, status: 'succeeded', durationMs, detail: preview(outcome.value) };
    }
    if (outcome.status === 'rejected') {
      const failure = outcome.reason;
      const code = failure.remote.code === undefined ? '' : ` [${failure.remote.code}]`;
      return {
        ...base,
        name: base.name ?? (failure.task.taskName || undefined),
        status: 'failed',
        durationMs,
        detail: `${failure.remote.name}${code}: ${failure.message}`,
      };
    }
    return {
      ...base,
      status: 'cancelled',
      durationMs,
      detail: `${outcome.reason.kind}: ${outcome.reason.reason}`,
    };
  });
}

function preview(value: unknown): string {
  if (value === undefined) return '';
  const json = JSON.stringify(value);
  return json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS - 1)}…` : json;
}
