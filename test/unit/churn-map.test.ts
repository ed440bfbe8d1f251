import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ChurnMap } from '../../shared/churn-map.ts';

const run = promisify(execFile);
const MB = 2 ** 20;

describe('ChurnMap', () => {
  test('behaves as a Map of strings, whatever the keys and the order of operations', () => {
    const key = fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '1', '4294967295'),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key, value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const churn = new ChurnMap<number>();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            churn.set(o.key, o.value);
            model.set(o.key, o.value);
          } else expect(churn.delete(o.key)).toBe(model.delete(o.key));
          expect(churn.size).toBe(model.size);
        }
        expect(churn.keys().sort()).toEqual([...model.keys()].sort());
        expect(churn.values().sort()).toEqual([...model.values()].sort());
        for (const [k, v] of model) {
          expect(churn.has(k)).toBe(true);
          expect(churn.get(k)).toBe(v);
        }
        expect(churn.has('never-set')).toBe(false);
        expect(churn.get('never-set')).toBeUndefined();
      }),
    );
  });

  test('a long-lived one lets dead entries go at a minor GC, where a Map keeps them all until a full one', async () => {
    const script = fileURLToPath(new URL('../fleet/churn-gc.ts', import.meta.url));
    const grew = async (kind: string) =>
      Number((await run(process.execPath, ['--expose-gc', script, kind])).stdout);
    const [map, churn] = await Promise.all([grew('map'), grew('churn')]);
    // 2,000 entries of 8 KB went through each; 50 live at the end.
    expect(map).toBeGreaterThan(5 * MB);
    expect(churn).toBeLessThan(2 * MB);
  });
});
