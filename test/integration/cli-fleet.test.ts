import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../infra/free-port.ts';
import { FleetMonitor } from '../../monitor/fleet-monitor.ts';
import { CLI_TASKS, CliProcess, type CliResult, runCli } from '../helpers/cli.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

/**
 * `taskfleet worker / workers / sem / demo`, run as the real binary in child processes against a real
 * Redis. Semaphores are fleet-wide, so this file has a key prefix of its own.
 */
const queue = uniqueQueue('cli-fleet');
const prefix = `tf-${randomUUID().slice(0, 6)}`;
const common = () => ['--redis', redisUrl(), '--queue', queue, '--prefix', prefix];
const cli = (args: readonly string[], input?: string) =>
  runCli([...args, ...common()], input === undefined ? {} : { input });
const started: CliProcess[] = [];
let monitor: FleetMonitor;
let dir = '';

beforeAll(async () => {
  monitor = new FleetMonitor({ connection: redisUrl(), queue, prefix });
  dir = await mkdtemp(join(tmpdir(), 'taskfleet-cli-'));
});

afterEach(async () => {
  // No test leaves a worker running.
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
});

afterAll(async () => {
  await monitor.close();
  await rm(dir, { recursive: true, force: true });
});

function worker(...extra: string[]): CliProcess {
  const process = new CliProcess(['worker', '--tasks', CLI_TASKS, '--json', ...extra, ...common()]);
  started.push(process);
  return process;
}

interface ListedWorker {
  readonly pid: number;
  readonly queue: string;
  readonly concurrency: number;
  readonly active: number;
  readonly runningCount: number;
  readonly running: string[];
  readonly tasks: string[];
  readonly state: string;
  readonly lastBeatMsAgo: number;
}

const listWorkers = async (): Promise<ListedWorker[]> => {
  const result = await cli(['workers', '--json']);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ListedWorker[];
};

const submit = async (id: string, tasks: readonly unknown[]): Promise<void> => {
  const result = await cli(['submit', '-', '--id', id], tasks.map((t) => JSON.stringify(t)).join('\n'));
  expect(result.code).toBe(0);
};

function expectOneLineError(result: CliResult, code: number, text: string | RegExp): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(text);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('worker and workers', () => {
  test('a worker says it is ready, is listed with its heartbeat and tasks, and closes gracefully on SIGTERM', async () => {
    const w = worker('--concurrency', '2', '--local', 'cpu=1', '--name', 'w-one');
    const ready = await w.event('ready');
    expect(ready).toMatchObject({
      pid: w.pid,
      queue,
      concurrency: 2,
      tasks: ['sleep', 'fail', 'block', 'hold'],
    });

    const group = `busy-${randomUUID().slice(0, 8)}`;
    await submit(group, [{ name: 'block' }, { name: 'block' }]);
    await expect
      .poll(async () => (await listWorkers()).find((l) => l.pid === w.pid), { timeout: 10_000 })
      .toMatchObject({ queue, concurrency: 2, state: 'running', active: 2, runningCount: 2 });
    const listed = (await listWorkers()).find((l) => l.pid === w.pid);
    expect(listed?.running.sort()).toEqual([`${group}#0`, `${group}#1`]);
    expect(listed?.lastBeatMsAgo).toBeLessThan(6000);
    const table = await cli(['workers']);
    expect(table.stdout).toMatch(
      /^HOST\s+PID\s+QUEUE\s+STATE\s+CONCURRENCY\s+ACTIVE\s+RUNNING\s+LAST BEAT\s+UP\s+RUNNING TASKS\n/,
    );
    expect(table.stdout).toMatch(
      new RegExp(`\\s${w.pid}\\s+${queue}\\s+running\\s+2\\s+2\\s+2\\s+[\\d.]+(ms|s) ago`),
    );

    expect((await cli(['cancel', group])).code).toBe(0);
    // SIGTERM: the worker closes (waiting for running tasks) and exits 0.
    expect(await w.stop('SIGTERM')).toBe(0);
    expect(w.errors.join('\n')).toContain('SIGTERM: closing');
    await w.event('closed');
    // A closed worker removes its heartbeat at once.
    expect((await listWorkers()).map((l) => l.pid)).not.toContain(w.pid);
  });

  test('a worker that dies drops off `workers` when its heartbeat expires', async () => {
    const w = worker('--heartbeat', '200ms');
    await w.event('ready');
    expect((await listWorkers()).map((l) => l.pid)).toContain(w.pid);
    await w.stop('SIGKILL');
    // 3 missed beats: 600 ms.
    await expect
      .poll(async () => (await listWorkers()).map((l) => l.pid), { timeout: 5000 })
      .not.toContain(w.pid);
  });

  test('a second SIGINT exits at once, without waiting for running tasks', async () => {
    const w = worker('--shutdown-grace', '30s');
    await w.event('ready');
    const group = `stubborn-${randomUUID().slice(0, 8)}`;
    await submit(group, [{ name: 'sleep', data: { ms: 60_000 } }]);
    await expect.poll(async () => (await monitor.group(group)).counts.running, { timeout: 10_000 }).toBe(1);
    w.child.kill('SIGINT');
    await expect.poll(() => w.errors.some((line) => line.includes('SIGINT: closing'))).toBe(true);
    expect(await w.stop('SIGINT')).toBe(130);
    expect((await cli(['cancel', group])).code).toBe(0);
  });

  test('--metrics-port starts OpenTelemetry and serves the worker metrics for Prometheus', async () => {
    const port = await freePort();
    const w = worker('--metrics-port', String(port));
    const ready = await w.event('ready');
    expect(ready.metrics).toBe(`http://127.0.0.1:${port}/metrics`);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`taskfleet_worker_active_tasks\\{[^}]*queue="${queue}"[^}]*\\} 0`));
    expect(await w.stop('SIGTERM')).toBe(0);
  });

  test('a tasks module that is missing or does not load: one line, exit 5', async () => {
    const missing = await cli(['worker', '--tasks', join(dir, 'nope.ts')]);
    expectOneLineError(missing, 5, /Tasks module .*nope\.ts: no such file/);
    const empty = join(dir, 'empty.ts');
    await writeFile(empty, 'export const answer = 42;\n');
    expectOneLineError(await cli(['worker', '--tasks', empty]), 5, /does not load: .* exports no tasks/);
    const broken = join(dir, 'broken.ts');
    await writeFile(broken, 'export default { oops: ( => 1 };\n');
    expectOneLineError(await cli(['worker', '--tasks', broken]), 5, /broken\.ts does not load/);
    expectOneLineError(await cli(['worker']), 2, "required option '--tasks <module>' not specified");
    expectOneLineError(await cli(['worker', '--tasks', CLI_TASKS, '--local', 'cpu']), 2, /expected NAME=N/);
  });
});

describe('sem', () => {
  test('ls, show (holders and waiters in order), set-limit: what the worker processes hold and wait for', async () => {
    const name = `api-${randomUUID().slice(0, 6)}`;
    const workers = [worker('--concurrency', '2'), worker('--concurrency', '2')];
    await Promise.all(workers.map((w) => w.event('ready')));
    const group = `sem-${randomUUID().slice(0, 8)}`;
    await submit(
      group,
      Array.from({ length: 4 }, () => ({ name: 'hold', data: { semaphore: name, limit: 1 } })),
    );
    const show = async () => {
      const result = await cli(['sem', 'show', name, '--json']);
      return result.code === 0
        ? (JSON.parse(result.stdout) as { limit: number; holders: { owner: string }[]; waiters: unknown[] })
        : undefined;
    };
    await expect.poll(async () => (await show())?.waiters.length, { timeout: 10_000 }).toBe(3);
    const status = await show();
    expect(status?.limit).toBe(1);
    expect(status?.holders).toHaveLength(1);
    const pids = workers.map((w) => w.pid);
    expect(pids.some((pid) => status?.holders[0]?.owner.endsWith(`:${pid}`))).toBe(true);

    const text = await cli(['sem', 'show', name]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/limit\s+1, 1 in use/);
    expect(text.stdout).toContain('Holders (1)');
    expect(text.stdout).toContain('Waiters, in the order they will be served (3)');
    expect(text.stdout).toMatch(/\n1\s+\S+:\d+\s+1\s+\S+\n2\s+\S+:\d+\s+1\s+\S+\n3\s+/);

    const ls = await cli(['sem', 'ls', '--json']);
    expect(JSON.parse(ls.stdout)).toContainEqual(expect.objectContaining({ name, limit: 1, used: 1 }));
    const lsText = await cli(['sem', 'ls']);
    expect(lsText.stdout).toMatch(new RegExp(`\\n${name}\\s+1\\s+1\\s+1\\s+3\\s+`));

    // Raising the limit serves the waiters at once, fleet-wide.
    const raised = await cli(['sem', 'set-limit', name, '4', '--json']);
    expect(JSON.parse(raised.stdout)).toEqual({ name, limit: 4, previous: 1 });
    await expect.poll(async () => (await show())?.holders.length).toBe(4);
    expect((await show())?.waiters).toHaveLength(0);
    const after = await cli(['sem', 'show', name]);
    expect(after.stdout).toMatch(/waits\s+3 grants waited: mean \S+, longest \S+/);
    expect((await cli(['cancel', group])).code).toBe(0);
    await expect.poll(async () => (await show())?.holders.length, { timeout: 10_000 }).toBe(0);
  });

  test('an unknown semaphore exits 3; a limit that is not a positive integer exits 2', async () => {
    expectOneLineError(
      await cli(['sem', 'show', 'no-such-sem']),
      3,
      'Semaphore `no-such-sem` does not exist',
    );
    expectOneLineError(await cli(['sem', 'set-limit', 'x', '0']), 2, /integer from 1 and up/);
    expectOneLineError(await cli(['sem', 'set-limit', 'x', 'lots']), 2, /integer from 1 and up/);
    const first = await cli(['sem', 'set-limit', `new-${randomUUID().slice(0, 6)}`, '3']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/limit none -> 3\./);
  });
});

describe('demo', () => {
  test('runs with no Redis configured (a private redis-server), two worker processes, and exits 0', async () => {
    const result = await runCli(['demo', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      succeeded: { results: string[] };
      failed: { failure: string; cancelled: number[] };
    };
    expect(report.succeeded.results).toEqual([0, 1, 2, 3].map((i) => `https://example.com/${i}`));
    expect(report.failed.failure).toBe('upstream returned 503');
    expect(report.failed.cancelled).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
  });
});
