import type { TaskModuleEntry } from '../../worker/index.ts';
import tasks from './tasks.ts';

/** What JSON cannot carry, by name (task data cannot carry it either, so the test names it). */
const unserializable: Record<string, () => unknown> = {
  function: () => ({ f: () => 1 }),
  bigint: () => ({ n: 10n }),
  symbol: () => ({ s: Symbol('x') }),
  nan: () => ({ x: Number.NaN }),
  infinity: () => [Number.POSITIVE_INFINITY],
  map: () => ({ m: new Map([[1, 2]]) }),
  set: () => new Set([1]),
  typedArray: () => ({ bytes: new Uint8Array(4) }),
  undefinedInArray: () => [1, undefined, 3],
  cycle: () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    return cyclic;
  },
};

/** The fleet's usual tasks, and results that break the worker's limits. */
const badInputTasks: Record<string, TaskModuleEntry> = {
  ...tasks,
  /** Returns a string whose JSON is `bytes` bytes long. */
  sizedResult: (data: { bytes: number }) => 'x'.repeat(data.bytes - 2),
  /** Returns a value JSON cannot carry faithfully. */
  unserializableResult: (data: { kind: string }) => unserializable[data.kind]?.(),
};

export const UNSERIALIZABLE_KINDS = Object.keys(unserializable);

export default badInputTasks;
