import type { GroupSummary } from '../monitor/fleet-monitor.ts';
import { formatDuration } from '../monitor/format.ts';
import { firstErrorText } from '../monitor/group-facts.ts';
import type { ProgressRate } from '../monitor/progress-rate.ts';
import type { GroupStatus } from '../shared/group-protocol/group-state.ts';
import { groupJson, STATE_COLOUR, settledCount } from './group-text.ts';
import type { Output } from './output.ts';

const BAR_WIDTH = 30;

/**
 * What `watch` prints as a group runs:
 * - on a terminal, one line redrawn in place (a coloured bar: succeeded, failed, cancelled);
 * - into a pipe or file, a line when something changed, at most one a second;
 * - with --json, one JSON object per change (NDJSON), the last one with `"final": true`.
 */
export class ProgressView {
  readonly #out: Output;
  #lastLine = '';
  #lastPrintedAt = Number.NEGATIVE_INFINITY;

  constructor(out: Output) {
    this.#out = out;
  }

  update(status: GroupStatus, rate: ProgressRate, at: number): void {
    const line = this.#line(status, rate);
    if (this.#out.json) {
      const changed = line !== this.#lastLine;
      this.#lastLine = line;
      if (changed) this.#out.data({ ...status, ...this.#speed(status, rate), final: false });
      return;
    }
    if (this.#out.isTTY) {
      this.#out.write(`\r\x1b[K${line}`);
      return;
    }
    if (line !== this.#lastLine && at - this.#lastPrintedAt >= 1000) {
      this.#out.line(line);
      this.#lastLine = line;
      this.#lastPrintedAt = at;
    }
  }

  /** The group is final: the last numbers, then one sentence on how it ended. */
  finish(summary: GroupSummary, rate: ProgressRate): void {
    const { status, firstError } = summary;
    if (this.#out.json) {
      this.#out.data({ ...groupJson(summary), ...this.#speed(status, rate), final: true });
      return;
    }
    const line = this.#line(status, rate);
    if (this.#out.isTTY) this.#out.write(`\r\x1b[K${line}\n`);
    else if (line !== this.#lastLine) this.#out.line(line);
    const took =
      status.finishedAt === undefined ? '' : ` in ${formatDuration(status.finishedAt - status.createdAt)}`;
    const state = this.#out.paint(STATE_COLOUR[status.state], status.state);
    const c = status.counts;
    if (status.state === 'succeeded') this.#out.line(`Group ${status.id} ${state}: ${c.total} tasks${took}.`);
    else if (status.state === 'failed') {
      const first = firstError === undefined ? '' : `; first error: ${firstErrorText(firstError)}`;
      this.#out.line(
        `Group ${status.id} ${state}${took}: ${c.failed} failed, ${c.cancelled} cancelled${first}`,
      );
    } else {
      const why = status.reason === undefined ? '' : ` (${status.reason.kind}: ${status.reason.message})`;
      this.#out.line(`Group ${status.id} ${state}${took}${why}: ${c.cancelled} tasks cancelled.`);
    }
  }

  /** Stops redrawing (Ctrl-C): leave the cursor on a fresh line. */
  interrupt(): void {
    if (this.#out.isTTY && !this.#out.json) this.#out.write('\n');
  }

  #speed(status: GroupStatus, rate: ProgressRate): { ratePerSecond: number; etaMs: number | null } {
    const eta = rate.etaMs(status.counts.total - settledCount(status));
    return {
      ratePerSecond: Math.round(rate.perSecond() * 100) / 100,
      etaMs: eta === undefined ? null : Math.round(eta),
    };
  }

  #line(status: GroupStatus, rate: ProgressRate): string {
    const c = status.counts;
    const settled = settledCount(status);
    const percent = c.total === 0 ? 0 : Math.floor((settled / c.total) * 100);
    const cells = (n: number): number => (c.total === 0 ? 0 : Math.round((n / c.total) * BAR_WIDTH));
    const ok = cells(c.succeeded);
    const failed = cells(c.failed);
    const cancelled = Math.min(BAR_WIDTH - ok - failed, cells(c.cancelled));
    const rest = Math.max(0, BAR_WIDTH - ok - failed - cancelled);
    const bar =
      this.#out.paint('green', '#'.repeat(ok)) +
      this.#out.paint('red', 'x'.repeat(failed)) +
      this.#out.paint('yellow', '-'.repeat(cancelled)) +
      '.'.repeat(rest);
    const perSecond = rate.perSecond();
    const eta = rate.etaMs(c.total - settled);
    const final = status.finishedAt !== undefined;
    const speed = `${perSecond.toFixed(1)}/s${final ? '' : `  ETA ${eta === undefined ? '—' : formatDuration(eta)}`}`;
    return [
      `[${bar}] ${String(percent).padStart(3)}% ${settled}/${c.total}`,
      `done ${c.succeeded}  failed ${c.failed}  cancelled ${c.cancelled}  running ${c.running}  pending ${c.pending}`,
      speed,
      this.#out.paint(STATE_COLOUR[status.state], status.state),
    ].join('  ');
  }
}
