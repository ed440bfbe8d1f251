import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadScripts } from '../../shared/lua-scripts.ts';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

/** EVALSHA digest -> a readable name (`taskfleet finish-and-start`, `bullmq moveToFinished`), for breakdowns. */
export async function scriptNames(): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const dir of ['group-protocol', 'semaphore']) {
    const path = fileURLToPath(new URL(`../../shared/${dir}/`, import.meta.url));
    for (const [base, script] of loadScripts(path)) names.set(sha1(script.lua), `taskfleet ${base}`);
  }
  // BullMQ ships each command as a module exporting { name, content, keys }; it loads `content` as is.
  const bullmq = new URL('../../node_modules/bullmq/dist/esm/scripts/', import.meta.url);
  for (const file of readdirSync(bullmq)) {
    if (!file.endsWith('.js') || file === 'index.js') continue;
    const module = (await import(new URL(file, bullmq).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      const script = value as { name?: unknown; content?: unknown };
      if (typeof script.name === 'string' && typeof script.content === 'string') {
        names.set(sha1(script.content), `bullmq ${script.name}`);
      }
    }
  }
  return names;
}
