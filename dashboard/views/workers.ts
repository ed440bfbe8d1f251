import { formatDuration } from '../../monitor/format.ts';
import type { WorkerInfo } from '../../worker/heartbeat.ts';
import { type Html, html } from '../html.ts';

export function workersSection(workers: readonly WorkerInfo[], now: number): Html {
  if (workers.length === 0) return html`<p class="empty">No live workers on this queue.</p>`;
  return html`<table class="workers">
<thead><tr><th>Host</th><th>PID</th><th>State</th><th>Concurrency</th><th>Active</th><th>Running now</th><th>Last heartbeat</th><th>Up</th><th>Handles</th></tr></thead>
<tbody>${workers.map(
    (w) => html`<tr data-worker="${w.id}">
  <td>${w.host}</td><td>${w.pid}</td><td><span class="state state-${w.state === 'running' ? 'open' : 'cancelling'}">${w.state}</span></td>
  <td>${w.concurrency}</td><td>${w.active}</td>
  <td class="running-tasks">${w.runningCount === 0 ? '—' : html`${w.runningCount}: ${w.running.map(runningTask)}${w.runningCount > w.running.length ? '…' : ''}`}</td>
  <td>${formatDuration(w.lastBeatMsAgo)} ago</td><td>${formatDuration(now - w.startedAt)}</td>
  <td>${w.tasks.join(', ')}</td>
</tr>`,
  )}</tbody>
</table>`;
}

/** `<group>#<index>`, linking to the group's page. */
function runningTask(task: string): Html {
  const group = task.slice(0, task.lastIndexOf('#'));
  return html`<a href="/groups/${encodeURIComponent(group)}"><code>${task}</code></a> `;
}
