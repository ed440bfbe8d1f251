import { formatDuration } from '../../monitor/format.ts';
import type { SemaphoreStatus } from '../../shared/semaphore/distributed-semaphore.ts';
import { type Html, html } from '../html.ts';

/** Holders and waiters shown per semaphore; the counts say how many more there are. */
const LISTED = 20;

export function semaphoresSection(semaphores: readonly SemaphoreStatus[]): Html {
  if (semaphores.length === 0) return html`<p class="empty">No named semaphores under this prefix.</p>`;
  return html`${semaphores.map(semaphoreCard)}`;
}

function semaphoreCard(s: SemaphoreStatus): Html {
  const share = s.limit === 0 ? 0 : Math.min(100, (s.used / s.limit) * 100);
  const more = (n: number): Html | string =>
    n > LISTED ? html`<p class="more">and ${n - LISTED} more</p>` : '';
  return html`<section class="semaphore" data-semaphore="${s.name}">
  <h3>${s.name} <span class="limit">${s.used} / ${s.limit === 0 ? 'no limit set' : s.limit} permits in use</span></h3>
  <div class="bar"><span class="ok" style="width:${share.toFixed(2)}%"></span></div>
  <p class="waits">${waitSummary(s)}</p>
  <div class="columns">
    <div><h4>Holders (${s.holders.length})</h4>
    ${
      s.holders.length === 0
        ? html`<p class="empty">none</p>`
        : html`<table class="holders"><thead><tr><th>Worker</th><th>Permits</th><th>Token</th><th>Since</th><th>Lease expires in</th></tr></thead><tbody>
        ${s.holders
          .slice(0, LISTED)
          .map(
            (h) =>
              html`<tr><td>${h.owner}</td><td>${h.permits}</td><td>${h.token}</td><td>${formatDuration(s.now - h.since)} ago</td><td>${formatDuration(h.expiresAt - s.now)}</td></tr>`,
          )}</tbody></table>${more(s.holders.length)}`
    }</div>
    <div><h4>Waiters, in order (${s.waiters.length})</h4>
    ${
      s.waiters.length === 0
        ? html`<p class="empty">none</p>`
        : html`<table class="waiters"><thead><tr><th>#</th><th>Worker</th><th>Permits</th><th>Waiting for</th></tr></thead><tbody>
        ${s.waiters
          .slice(0, LISTED)
          .map(
            (w, k) =>
              html`<tr><td>${k + 1}</td><td>${w.owner}</td><td>${w.permits}</td><td>${formatDuration(s.now - w.since)}</td></tr>`,
          )}</tbody></table>${more(s.waiters.length)}`
    }</div>
  </div>
</section>`;
}

/** Past grants that had to queue (from Redis), and how long the current waiters have waited so far. */
function waitSummary(s: SemaphoreStatus): string {
  const { count, totalMs, maxMs } = s.waits;
  const past =
    count === 0
      ? `No grant has had to wait (${s.lastToken} granted).`
      : `${count} of ${s.lastToken} grants waited: mean ${formatDuration(totalMs / count)}, longest ${formatDuration(maxMs)}.`;
  if (s.waiters.length === 0) return past;
  const waited = s.waiters.map((w) => s.now - w.since).sort((a, b) => a - b);
  const median = waited[Math.floor(waited.length / 2)] ?? 0;
  return `${past} Waiting now: ${waited.length}, median ${formatDuration(median)}, longest ${formatDuration(waited[waited.length - 1] ?? 0)}.`;
}
