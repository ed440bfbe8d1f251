import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadScripts } from '../../shared/lua-scripts.ts';

describe('loadScripts', () => {
  test('names commands after their files, counts keys from the name, and inlines includes once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lua-'));
    writeFileSync(join(dir, 'inc.lua'), 'local function helper() return 1 end');
    writeFileSync(join(dir, 'do-thing-3.lua'), '--- @include "inc"\n--- @include "inc"\nreturn helper()');
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const scripts = loadScripts(dir);
    expect([...scripts.keys()]).toEqual(['do-thing']);
    const script = scripts.get('do-thing');
    expect(script?.command).toBe('tfDoThing');
    expect(script?.numberOfKeys).toBe(3);
    expect(script?.lua.match(/local function helper/g)).toHaveLength(1);
  });

  test('every group script opens with a header that documents its keys and arguments', async () => {
    const dir = new URL('../../shared/group-protocol/', import.meta.url);
    const scripts = loadScripts(dir.pathname);
    expect(scripts.size).toBeGreaterThanOrEqual(9);
    for (const [name, script] of scripts) {
      expect(script.lua.startsWith('--[['), name).toBe(true);
      for (let k = 1; k <= script.numberOfKeys; k++) {
        const documented =
          script.lua.includes(`KEYS[${k}]`) || script.lua.includes(`KEYS[1..${script.numberOfKeys}]`);
        expect(documented, `${name} documents KEYS[${k}]`).toBe(true);
      }
    }
  });
});
