/**
 * What `npm install taskfleet` gets: `npm pack` (which builds dist/ through prepack), unpacked into the
 * node_modules of a scratch application that uses it from plain JavaScript, type-checks against it, and
 * runs its `taskfleet` command. Node refuses to strip types under node_modules, so this fails if the
 * package reaches a `.ts` file, misses a Lua script or the thread entry, imports a package it does not
 * declare, or exports a path that is not there.
 */
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  bin: { taskfleet: string };
};

interface PackedFile {
  readonly path: string;
}

let app: string;
let files: string[];

beforeAll(async () => {
  app = mkdtempSync(join(tmpdir(), 'taskfleet-installed-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', app], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  // npm prints prepack's output before the JSON.
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as {
    filename: string;
    files: PackedFile[];
  }[];
  if (packed === undefined) throw new Error(`npm pack printed no package: ${stdout}`);
  files = packed.files.map((file) => file.path);

  // Installed as npm would lay it out: the package, and beside it its declared dependencies only (and
  // @types/node, which the application's own type check below needs, as any TypeScript app has it).
  const modules = join(app, 'node_modules');
  mkdirSync(modules);
  await run('tar', ['-xzf', join(app, packed.filename), '-C', modules]);
  renameSync(join(modules, 'package'), join(modules, 'taskfleet'));
  for (const name of [...Object.keys(pkg.dependencies), '@types/node']) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module', private: true }));
}, 120_000);

afterAll(() => {
  if (app !== undefined) rmSync(app, { recursive: true, force: true });
});

/** A Node 22 binary, when .ci/run (or whoever runs the tests) names one. */
const node22 = process.env.TASKFLEET_NODE22 || undefined;

/** The installed `taskfleet` command, where npm links `bin`. */
const cli = (): string => join(app, 'node_modules', 'taskfleet', pkg.bin.taskfleet);

/** The application: a worker and a producer from the installed package run one group. */
const APP = `import { Producer } from 'taskfleet/producer';
import { DistributedSemaphore } from 'taskfleet/shared';
import { startTelemetry } from 'taskfleet/telemetry';
import { FleetWorker } from 'taskfleet/worker';

const [connection, queue] = process.argv.slice(2);
const worker = new FleetWorker({ connection, queue, concurrency: 2 });
worker.task('square', (n, ctx) => ctx.toThread(new URL('./work.js', import.meta.url), 'square', [n]));
worker.task('limited', async (n, ctx) => {
  const permit = await ctx.semaphore('installed', 1).acquire();
  try {
    return { n: n + 1, fenced: permit.token > 0 };
  } finally {
    await permit.release();
  }
});
await worker.ready();
const producer = new Producer({ connection, queue });
const tg = producer.taskGroup();
tg.createTask('square', 7);
tg.createTask('limited', 1);
const results = await tg.wait();
await producer.close();
await worker.close();
const exports = [typeof DistributedSemaphore, typeof startTelemetry];
console.log(JSON.stringify({ id: tg.id, results, exports, version: process.version }));
`;

/** Runs the application on `node`; checks its results. */
async function runApp(node: string): Promise<{ id: string; queue: string; version: string }> {
  writeFileSync(join(app, 'work.js'), 'export function square(n) { return n * n; }\n');
  writeFileSync(join(app, 'main.js'), APP);
  const queue = uniqueQueue('installed');
  const { stdout } = await run(node, ['main.js', redisUrl(), queue], { cwd: app });
  const out = JSON.parse(stdout) as { id: string; results: unknown[]; exports: string[]; version: string };
  expect(out.results).toEqual([49, { n: 2, fenced: true }]);
  expect(out.exports).toEqual(['function', 'function']);
  return { id: out.id, queue, version: out.version };
}

describe('the published package', () => {
  test('holds the build and nothing else: JavaScript, declarations, Lua scripts, dashboard assets', () => {
    const outside = files.filter(
      (path) => !path.startsWith('dist/') && !/^(package\.json|README\.md)$/.test(path),
    );
    expect(outside).toEqual([]);
    expect(files.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        pkg.bin.taskfleet,
        'dist/producer/index.js',
        'dist/producer/index.d.ts',
        'dist/worker/thread-entry.js',
        'dist/shared/group-protocol/finish-and-start-5.lua',
        'dist/shared/group-protocol/includes/settle-group.lua',
        'dist/shared/semaphore/release-and-acquire-4.lua',
        'dist/shared/lua-includes/now.lua',
        'dist/dashboard/assets/live.js',
      ]),
    );
  });

  test('runs a group from plain JavaScript: worker, producer, a thread and a fleet-wide semaphore', async () => {
    const { id, queue } = await runApp(process.execPath);
    // Its command, where npm links `bin`: the version, and the group just run, read back from Redis.
    const version = await run(process.execPath, [cli(), '--version'], { cwd: app });
    expect(version.stdout.trim()).toBe(pkg.version);
    const status = await run(
      process.execPath,
      [cli(), 'status', id, '--json', '--redis', redisUrl(), '--queue', queue],
      { cwd: app },
    );
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'succeeded', counts: { succeeded: 2 } });
  });

  // `engines` says Node >= 22: .ci/run installs node@22 from the npm registry and names it here.
  test.skipIf(node22 === undefined)('runs on Node 22, the oldest Node `engines` allows', async () => {
    const node = node22 ?? '';
    const { version } = await runApp(node);
    expect(version).toMatch(/^v22\./);
    expect((await run(node, [cli(), '--version'], { cwd: app })).stdout.trim()).toBe(pkg.version);
  });

  test('a TypeScript application type-checks against its declarations (and they are not `any`)', async () => {
    writeFileSync(
      join(app, 'check.ts'),
      `import { Producer } from 'taskfleet/producer';
import { ArgumentRangeError, ErrorCode } from 'taskfleet/shared';
import { FleetWorker, type TaskContext } from 'taskfleet/worker';

const worker = new FleetWorker({ connection: 'redis://127.0.0.1:1', queue: 'q', concurrency: 2 });
worker.task('echo', (data: { s: string }, ctx: TaskContext) => \`\${data.s}:\${ctx.index}\`);
const producer = new Producer({ connection: 'redis://127.0.0.1:1', queue: 'q' });
const group = producer.taskGroup({ policy: 'all-settled' });
group.createTask('echo', { s: 'x' });
export const pending: Promise<unknown> = group.wait();
export const code: ErrorCode = new ArgumentRangeError('limit must be a positive integer').code;
// @ts-expect-error concurrency is a number
new FleetWorker({ connection: 'redis://127.0.0.1:1', queue: 'q', concurrency: 'two' });
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2024',
          lib: ['es2024', 'esnext.disposable'],
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout, failed: true }),
    );
    expect(result.stdout).toBe('');
  });
});
