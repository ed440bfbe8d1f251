/**
 * Run with `node --expose-gc churn-gc.ts map|churn`: a long-lived table whose entries come and go
 * (fifty live at a time, 2,000 in all, 8 KB each), then two minor GCs. Prints how much the old
 * generation grew, in bytes: what the minor GCs kept alive and promoted though it was dead.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { ChurnMap } from '../../shared/churn-map.ts';

const gc = globalThis.gc as ((options?: { type: 'minor' | 'major' }) => void) | undefined;
if (gc === undefined) throw new Error('run with --expose-gc');
const oldUsed = (): number =>
  getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')?.space_used_size ?? 0;

const table = process.argv[2] === 'map' ? new Map<string, unknown>() : new ChurnMap<unknown>();
table.set('seed', {});
gc();
gc(); // the table is in the old generation now, as a long-lived one is
const before = oldUsed();
for (let i = 0; i < 2000; i++) {
  table.set(`r${i}`, { payload: new Array<number>(1000).fill(i) });
  if (i >= 50) table.delete(`r${i - 50}`);
  // Entries come and go across turns of the event loop, as requests do.
  if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
}
gc({ type: 'minor' });
gc({ type: 'minor' });
process.stdout.write(String(oldUsed() - before));
