/**
 * Tasks settled per second over a sliding window, and the time left at that rate: what `taskfleet
 * watch` and the dashboard show next to a progress bar. A window, rather than the average since the
 * start, so the estimate follows a fleet that grows, shrinks or stalls.
 */
export class ProgressRate {
  readonly #windowMs: number;
  readonly #samples: { at: number; settled: number }[] = [];

  constructor(windowMs = 10_000) {
    this.#windowMs = windowMs;
  }

  /** Records the settled count seen at `at` (ms, any monotonic clock). */
  add(settled: number, at: number): void {
    this.#samples.push({ at, settled });
    // Keep one sample older than the window, so the window is always spanned.
    while (this.#samples.length > 2 && (this.#samples[1]?.at ?? at) <= at - this.#windowMs) {
      this.#samples.shift();
    }
  }

  /** Tasks per second; 0 until two samples a little apart. */
  perSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (first === undefined || last === undefined || last.at - first.at < 200) return 0;
    return Math.max(0, ((last.settled - first.settled) * 1000) / (last.at - first.at));
  }

  /** Milliseconds until `remaining` more tasks settle at the current rate; undefined while unknown. */
  etaMs(remaining: number): number | undefined {
    if (remaining <= 0) return 0;
    const rate = this.perSecond();
    return rate > 0 ? (remaining / rate) * 1000 : undefined;
  }
}
