import type { FirstError } from '../../monitor/fleet-monitor.ts';
import { formatDuration } from '../../monitor/format.ts';
import { groupFacts } from '../../monitor/group-facts.ts';
import type { TaskRow } from '../../monitor/task-rows.ts';
import { type GroupStatus, isActive } from '../../shared/group-protocol/group-state.ts';
import { type Html, html } from '../html.ts';
import { counts, progressBar, stateBadge } from './progress.ts';

export interface GroupView {
  readonly status: GroupStatus;
  readonly firstError: FirstError | undefined;
  readonly now: number;
  /** Tasks settled per second lately, and the time left at that rate (undefined: unknown). */
  readonly perSecond: number;
  readonly etaMs: number | undefined;
}

/** The group's state, progress and facts, and the Cancel button while it can be cancelled. */
export function groupHeader(v: GroupView): Html {
  const { status, now } = v;
  const facts: [string, Html | string][] = [
    ['Policy', status.policy],
    ['Closed', status.closed ? 'yes (no more tasks from its producer)' : 'no (its producer may add tasks)'],
  ];
  if (status.finishedAt === undefined)
    facts.push([
      'Rate',
      `${v.perSecond.toFixed(1)} tasks/s, ETA ${v.etaMs === undefined ? '—' : formatDuration(v.etaMs)}`,
    ]);
  for (const fact of groupFacts(v, now))
    facts.push([
      fact.label,
      fact.kind === undefined ? fact.value : html`<span class="${fact.kind}">${fact.value}</span>`,
    ]);
  const cancellable = isActive(status.state);
  return html`<div class="group-head">
  <div class="title">${stateBadge(status)} ${progressBar(status)} ${counts(status)}
  ${cancellable ? html`<button type="button" id="cancel" data-cancel="${status.id}">Cancel group</button>` : ''}</div>
  <dl class="facts">${facts.map(([k, value]) => html`<dt>${k}</dt><dd>${value}</dd>`)}</dl>
</div>`;
}

/** One page of the group's tasks, with links to the other pages. */
export function taskTable(
  status: GroupStatus,
  rows: readonly TaskRow[],
  page: number,
  perPage: number,
): Html {
  const pages = Math.max(1, Math.ceil(status.counts.total / perPage));
  const link = (p: number, label: string): Html =>
    html`<a href="/groups/${encodeURIComponent(status.id)}?page=${p}">${label}</a>`;
  const nav =
    pages <= 1
      ? html``
      : html`<p class="pages">Tasks ${page * perPage}–${Math.min(status.counts.total, (page + 1) * perPage) - 1} of ${status.counts.total}:
        ${page > 0 ? link(page - 1, '← previous') : ''} ${page + 1 < pages ? link(page + 1, 'next →') : ''}</p>`;
  if (rows.length === 0) return html`<p class="empty">No tasks yet.</p>`;
  return html`${nav}<table class="tasks">
<thead><tr><th>#</th><th>Task</th><th>Outcome</th><th>Attempts</th><th>Duration</th><th>Result / error / reason</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr data-task="${r.index}">
  <td>${r.index}</td><td>${r.name ?? '—'}</td><td><span class="outcome outcome-${r.status}">${r.status}</span></td>
  <td>${r.attempts ?? '—'}</td><td>${r.durationMs === undefined ? '—' : formatDuration(r.durationMs)}</td>
  <td class="detail" title="${r.detail}">${r.detail}</td>
</tr>`,
  )}</tbody>
</table>`;
}
