import type { GroupSummary } from '../monitor/fleet-monitor.ts';
import { formatDuration, truncate } from '../monitor/format.ts';
import { groupFacts, whyText } from '../monitor/group-facts.ts';
import type { GroupState, GroupStatus } from '../shared/group-protocol/group-state.ts';
import type { Colour, Output } from './output.ts';

/** How the CLI writes a group: `status`, `groups`, and the end of `watch`. */

export const STATE_COLOUR: Readonly<Record<GroupState, Colour>> = {
  open: 'blue',
  closed: 'blue',
  failing: 'red',
  cancelling: 'yellow',
  succeeded: 'green',
  failed: 'red',
  cancelled: 'yellow',
};

export function settledCount(status: GroupStatus): number {
  const { succeeded, failed, cancelled } = status.counts;
  return succeeded + failed + cancelled;
}

/** `status GROUP`: every field a person asks about, one per line. */
export function printGroup(out: Output, summary: GroupSummary, now: number): void {
  const { status } = summary;
  const c = status.counts;
  const rows: [string, string][] = [
    ['Group', status.name ? `${status.id} (${status.name})` : status.id],
    [
      'State',
      `${out.paint(STATE_COLOUR[status.state], status.state)}  ${status.policy}${status.closed ? ', closed' : ', open for tasks'}`,
    ],
    [
      'Tasks',
      `${c.total} total: ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.pending} pending`,
    ],
    ...groupFacts(summary, now).map((fact): [string, string] => [fact.label, fact.value]),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) out.line(`${out.paint('bold', label.padEnd(width))}  ${value}`);
}

/** `groups`: one row per group. */
export function groupRow(out: Output, summary: GroupSummary, now: number): string[] {
  const { status } = summary;
  const c = status.counts;
  const why = whyText(summary);
  return [
    status.id,
    truncate(status.name, 20),
    out.paint(STATE_COLOUR[status.state], status.state),
    `${settledCount(status)}/${c.total}`,
    String(c.failed),
    String(c.cancelled),
    String(c.running),
    formatDuration(now - status.createdAt),
    truncate(why, 60),
  ];
}

export const GROUP_COLUMNS = [
  'ID',
  'NAME',
  'STATE',
  'DONE',
  'FAILED',
  'CANCELLED',
  'RUNNING',
  'AGE',
  'REASON / FIRST ERROR',
];

/** The JSON shape of a group in `status`, `groups` and `watch`. */
export function groupJson({ status, firstError }: GroupSummary): Record<string, unknown> {
  return { ...status, firstError: firstError ?? null };
}
