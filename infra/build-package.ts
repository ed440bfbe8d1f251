/**
 * `npm run build` (and `npm pack`, through prepack): compiles the library to dist/ with tsconfig.build.json,
 * then copies the files the code reads at run time: Lua scripts and the dashboard's assets.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
// typescript exports only its package.json; its `tsc` command sits beside it.
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// tsc emits the package.json that cli/main.ts imports; the package's own one is the one to read.
rmSync(join(dist, 'package.json'));
for (const [folder, keep] of [
  ['shared', (path: string) => path.endsWith('.lua')],
  ['dashboard/assets', () => true],
] as const) {
  cpSync(join(root, folder), join(dist, folder), {
    recursive: true,
    // Folders pass, so the walk reaches the files inside them.
    filter: (source) => statSync(source).isDirectory() || keep(source),
  });
}
console.log(`built ${dist}`);
