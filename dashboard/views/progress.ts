import type { GroupStatus } from '../../shared/group-protocol/group-state.ts';
import { type Html, html } from '../html.ts';

/** A group's progress bar: succeeded, failed, cancelled and running, as shares of its tasks. */
export function progressBar(status: GroupStatus): Html {
  const c = status.counts;
  const share = (n: number): string => (c.total === 0 ? '0' : ((n / c.total) * 100).toFixed(2));
  const settled = c.succeeded + c.failed + c.cancelled;
  return html`<div class="progress" title="${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.pending} pending">
  <div class="bar"><span class="ok" style="width:${share(c.succeeded)}%"></span><span class="failed" style="width:${share(c.failed)}%"></span><span class="cancelled" style="width:${share(c.cancelled)}%"></span><span class="running" style="width:${share(c.running)}%"></span></div>
  <span class="progress-text">${settled}/${c.total}</span>
</div>`;
}

export function stateBadge(status: GroupStatus): Html {
  return html`<span class="state state-${status.state}">${status.state}</span>`;
}

/** succeeded · failed · cancelled · running · pending, the zeros dimmed. */
export function counts(status: GroupStatus): Html {
  const c = status.counts;
  const item = (n: number, label: string): Html =>
    html`<span class="${n === 0 ? 'zero' : label}">${n} ${label}</span>`;
  return html`<span class="counts">${item(c.succeeded, 'succeeded')} ${item(c.failed, 'failed')} ${item(c.cancelled, 'cancelled')} ${item(c.running, 'running')} ${item(c.pending, 'pending')}</span>`;
}
