import type { GroupStatus } from '../shared/group-protocol/group-state.ts';
import type { FirstError, GroupSummary } from './fleet-monitor.ts';
import { formatDuration } from './format.ts';

/** One line about a group, as `taskfleet status` and the dashboard's group page list them. */
export interface GroupFact {
  readonly label: string;
  readonly value: string;
  /** Why the group stopped, or its first failure: shown as such (monospace, coloured). */
  readonly kind?: 'reason' | 'error';
}

/** `task 3 (fetch): Error [E_CODE]: message`. */
export function firstErrorText(error: FirstError): string {
  const code = error.code === undefined ? '' : ` [${error.code}]`;
  return `task ${error.index}${error.taskName ? ` (${error.taskName})` : ''}: ${error.name}${code}: ${error.message}`;
}

/** The first error, else the cancel reason: what a list of groups shows in one cell. */
export function whyText({ status, firstError }: GroupSummary): string {
  if (firstError !== undefined) return firstErrorText(firstError);
  return status.reason === undefined ? '' : `${status.reason.kind}: ${status.reason.message}`;
}

/** The facts of a group beyond its state and counts, measured against `now` (Redis time). */
export function groupFacts({ status, firstError }: GroupSummary, now: number): GroupFact[] {
  const facts: GroupFact[] = [{ label: 'Age', value: formatDuration(now - status.createdAt) }];
  if (status.finishedAt !== undefined) {
    facts.push({ label: 'Took', value: formatDuration(status.finishedAt - status.createdAt) });
  }
  if (status.deadlineAt !== undefined) facts.push({ label: 'Deadline', value: deadline(status, now) });
  if (status.maxConcurrency !== undefined)
    facts.push({ label: 'Max concurrency', value: String(status.maxConcurrency) });
  if (status.parent !== undefined) facts.push({ label: 'Parent task', value: status.parent });
  if (status.reason !== undefined)
    facts.push({ label: 'Reason', value: `${status.reason.kind}: ${status.reason.message}`, kind: 'reason' });
  if (firstError !== undefined)
    facts.push({ label: 'First error', value: firstErrorText(firstError), kind: 'error' });
  return facts;
}

function deadline(status: GroupStatus, now: number): string {
  const at = status.deadlineAt ?? 0;
  return at > now ? `in ${formatDuration(at - now)}` : 'passed';
}
