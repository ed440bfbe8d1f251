/** Busy-loops for `ms` milliseconds (CPU-bound work for ctx.toThread tests). Returns the iterations. */
export function spin(ms: number): number {
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) n++;
  return n;
}
