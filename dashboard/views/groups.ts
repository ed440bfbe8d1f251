import type { GroupSummary } from '../../monitor/fleet-monitor.ts';
import { formatDuration, truncate } from '../../monitor/format.ts';
import { whyText } from '../../monitor/group-facts.ts';
import { type Html, html } from '../html.ts';
import { counts, progressBar, stateBadge } from './progress.ts';

/** The overview's groups: newest first, each row linking to its group page. */
export function groupsSection(groups: readonly GroupSummary[], now: number): Html {
  if (groups.length === 0) return html`<p class="empty">No groups on this queue yet.</p>`;
  return html`<table class="groups">
<thead><tr><th>Group</th><th>State</th><th>Progress</th><th>Counts</th><th>Age</th><th>First error / cancel reason</th></tr></thead>
<tbody>${groups.map((g) => groupRow(g, now))}</tbody>
</table>`;
}

function groupRow(summary: GroupSummary, now: number): Html {
  const { status } = summary;
  const why = whyText(summary);
  return html`<tr data-group="${status.id}">
  <td><a href="/groups/${encodeURIComponent(status.id)}">${truncate(status.id, 40)}</a>${status.name ? html`<div class="name">${status.name}</div>` : ''}${status.parent ? html`<div class="name">child of ${status.parent}</div>` : ''}</td>
  <td>${stateBadge(status)}</td>
  <td>${progressBar(status)}</td>
  <td>${counts(status)}</td>
  <td class="age">${formatDuration(now - status.createdAt)}</td>
  <td class="why" title="${why}">${truncate(why, 120)}</td>
</tr>`;
}
