import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FleetMonitor } from '../../monitor/fleet-monitor.ts';
import { CLI_TASKS, CliProcess, type CliResult, runCli } from '../helpers/cli.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

/**
 * `taskfleet submit / watch / status / cancel / groups`, run as the real binary in child processes,
 * against two `taskfleet worker` processes and a real Redis. Exit codes are the documented ones.
 */
const queue = uniqueQueue('cli-groups');
const common = () => ['--redis', redisUrl(), '--queue', queue];
let workers: CliProcess[] = [];
let monitor: FleetMonitor;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskfleet-cli-'));
  monitor = new FleetMonitor({ connection: redisUrl(), queue, prefix: 'taskfleet' });
  const worker = () =>
    new CliProcess(['worker', '--tasks', CLI_TASKS, '--concurrency', '3', '--json', ...common()]);
  workers = [worker(), worker()];
  await Promise.all(workers.map((w) => w.event('ready')));
});

afterAll(async () => {
  const codes = await Promise.all(workers.map((w) => w.stop('SIGTERM')));
  await monitor.close();
  await rm(dir, { recursive: true, force: true });
  // Graceful close on SIGTERM exits 0.
  expect(codes).toEqual([0, 0]);
});

const id = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const ndjson = (tasks: readonly unknown[]) => `${tasks.map((t) => JSON.stringify(t)).join('\n')}\n`;
const sleeps = (n: number, ms: number) =>
  Array.from({ length: n }, (_, i) => ({ name: 'sleep', data: { ms, value: i } }));
const cli = (args: readonly string[], input?: string) =>
  runCli([...args, ...common()], input === undefined ? {} : { input });
const json = (result: CliResult) => JSON.parse(result.stdout) as Record<string, unknown>;

/** One line on stderr, and no stack trace in it. */
function expectOneLineError(result: CliResult, code: number, text: string | RegExp): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^taskfleet: /);
  expect(lines[0]).toMatch(text);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('submit', () => {
  test('NDJSON from stdin with --wait: prints the group id, follows it to the end, exits 0', async () => {
    const group = id('ok');
    const result = await cli(
      ['submit', '-', '--id', group, '--name', 'nightly', '--wait'],
      ndjson(sleeps(12, 20)),
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(group);
    expect(lines.at(-2)).toContain('12/12');
    expect(lines.at(-1)).toMatch(new RegExp(`^Group ${group} succeeded: 12 tasks in `));
    const status = json(await cli(['status', group, '--json']));
    expect(status).toMatchObject({
      id: group,
      name: 'nightly',
      state: 'succeeded',
      counts: { total: 12, succeeded: 12, failed: 0, cancelled: 0 },
    });
  });

  test('a JSON array file, with task options; without --wait it returns once the group is closed', async () => {
    const group = id('array');
    const file = join(dir, 'tasks.json');
    const tasks = sleeps(5, 10).map((t) => ({ ...t, options: { attempts: 2 } }));
    await writeFile(file, JSON.stringify(tasks, null, 2));
    const result = await cli(['submit', file, '--id', group, '--json']);
    expect(result.code).toBe(0);
    expect(json(result)).toEqual({ id: group, tasks: 5, queue });
    await expect.poll(async () => (await monitor.group(group)).state).toBe('succeeded');
    expect((await monitor.group(group)).closed).toBe(true);
  });

  test('streams its input: tasks reach Redis while stdin is still open', async () => {
    const group = id('stream');
    const submit = new CliProcess(['submit', '-', '--id', group, ...common()]);
    const stdin = submit.child.stdin;
    if (stdin === null) throw new Error('no stdin');
    stdin.write(ndjson(sleeps(30, 1)));
    // Read, sent and counted while the rest of the input has not even been written.
    await expect.poll(async () => (await monitor.group(group).catch(() => undefined))?.counts.total).toBe(30);
    expect(submit.child.exitCode).toBeNull();
    stdin.end(ndjson(sleeps(20, 1)));
    expect(await submit.exited).toBe(0);
    await expect
      .poll(async () => (await monitor.group(group)).counts)
      .toMatchObject({ total: 50, succeeded: 50 });
  });

  test('Ctrl-C while reading a silent stdin: exits 130 at once and cancels the group it started', async () => {
    const group = id('interrupted');
    const submit = new CliProcess(['submit', '-', '--id', group, ...common()]);
    submit.child.stdin?.write(ndjson([{ name: 'block' }, { name: 'block' }]));
    await expect.poll(async () => (await monitor.group(group).catch(() => undefined))?.counts.total).toBe(2);
    submit.child.kill('SIGINT');
    expect(await submit.exited).toBe(130);
    expect(submit.errors.join('\n')).toContain(`Interrupted: group ${group} was cancelled after 2 tasks.`);
    await expect.poll(async () => (await monitor.group(group)).state, { timeout: 10_000 }).toBe('cancelled');
    expect((await monitor.group(group)).reason).toEqual({
      kind: 'producer-error',
      message: 'taskfleet submit: submit was interrupted',
    });
  });

  test('--wait exits 6 when the group fails, and names the first error', async () => {
    const group = id('fails');
    const tasks = [...sleeps(3, 2000), { name: 'fail', data: { message: 'disk full' } }, ...sleeps(3, 2000)];
    const result = await cli(['submit', '-', '--id', group, '--wait'], ndjson(tasks));
    expect(result.code).toBe(6);
    expect(result.stdout).toContain(`Group ${group} failed`);
    expect(result.stdout).toContain('first error: task 3 (fail): Error [E_TEST]: disk full');
    const status = json(await cli(['status', group, '--json']));
    expect(status.state).toBe('failed');
    expect(status.firstError).toEqual({
      index: 3,
      taskName: 'fail',
      name: 'Error',
      code: 'E_TEST',
      message: 'disk full',
    });
    const text = await cli(['status', group]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/First error\s+task 3 \(fail\): Error \[E_TEST\]: disk full/);
  });

  test('warns of a task name no live worker handles; the task then fails with UnknownTaskError', async () => {
    const group = id('unknown');
    const result = await cli(
      ['submit', '-', '--id', group, '--wait'],
      ndjson([{ name: 'nope' }, { name: 'nope' }]),
    );
    expect(result.code).toBe(6);
    expect(result.stderr).toContain(
      `warning: no live worker of queue ${queue} handles task \`nope\` (stdin line 1)`,
    );
    expect(result.stderr).not.toContain('line 2'); // once per name
    // Both tasks fail at once, on either worker: whichever failed first is the first error.
    expect(result.stdout).toMatch(
      /first error: task [01] \(nope\): UnknownTaskError \[UNKNOWN_TASK\]: Unknown task `nope`/,
    );
  });

  test('--policy all-settled runs everything; --max-concurrency and --deadline reach the group', async () => {
    const settledGroup = id('settled');
    const tasks = [...sleeps(3, 10), { name: 'fail' }, ...sleeps(3, 10)];
    const settled = await cli(
      ['submit', '-', '--id', settledGroup, '--policy', 'all-settled', '--wait'],
      ndjson(tasks),
    );
    expect(settled.code).toBe(6); // an all-settled group with a failure ends `failed`, after every task ran
    expect((await monitor.group(settledGroup)).counts).toMatchObject({
      succeeded: 6,
      failed: 1,
      cancelled: 0,
    });

    const late = id('deadline');
    const result = await cli(
      ['submit', '-', '--id', late, '--deadline', '300ms', '--max-concurrency', '2', '--wait'],
      ndjson([{ name: 'block' }, { name: 'block' }, { name: 'block' }]),
    );
    expect(result.code).toBe(7);
    const status = await monitor.group(late);
    expect(status).toMatchObject({ state: 'cancelled', maxConcurrency: 2, reason: { kind: 'deadline' } });
  });

  test('bad input: one line naming the file and line, exit 5, and the group it had started is cancelled', async () => {
    const group = id('bad');
    const input = `${ndjson(sleeps(2, 1))}{"name": "sleep", "data": {"ms": 1}, "oops": 1}\n`;
    const bad = await cli(['submit', '-', '--id', group], input);
    expectOneLineError(bad, 5, 'stdin line 3: Unknown option `oops` in task');
    await expect.poll(async () => (await monitor.group(group)).state).toBe('cancelled');
    expect((await monitor.group(group)).reason?.kind).toBe('producer-error');

    expectOneLineError(
      await cli(['submit', join(dir, 'missing.ndjson')]),
      5,
      /missing\.ndjson: no such file/,
    );
    expectOneLineError(
      await cli(['submit', '-'], '{"name": "sleep"}\n{"name": '),
      5,
      /stdin line 2: .*closing brace/,
    );
    expectOneLineError(
      await cli(['submit', '-'], '[{"name": "sleep"} {"name": "sleep"}]'),
      5,
      /stdin line 1: expected ','/,
    );
    expectOneLineError(await cli(['submit', '-'], ''), 5, 'stdin: no tasks');
    expectOneLineError(
      await cli(['submit', '-'], '{"name": "sleep", "data": {"n": 1e999}}'),
      5,
      /not valid JSON|JSON turns into null/,
    );
    const duplicate = await cli(['submit', '-', '--id', group], ndjson(sleeps(1, 1)));
    expectOneLineError(duplicate, 5, `Group id \`${group}\` is already in use`);
    expectOneLineError(
      await cli(['submit', '-', '--policy', 'sometimes'], ''),
      2,
      /argument 'sometimes' is invalid/,
    );
    expectOneLineError(await cli(['submit', '-', '--max-concurrency', '0'], ''), 2, /integer from 1 and up/);
    expectOneLineError(await cli(['submit', '-', '--deadline', 'soon'], ''), 2, /expected a duration/);
  });
});

describe('watch, cancel, status, groups', () => {
  test('cancel stops a running group on both workers; watch follows it live (--json) and exits 7', async () => {
    const group = id('cancel');
    expect(
      (
        await cli(
          ['submit', '-', '--id', group],
          ndjson(Array.from({ length: 10 }, () => ({ name: 'block' }))),
        )
      ).code,
    ).toBe(0);
    const watch = new CliProcess(['watch', group, '--json', ...common()]);
    // Six tasks run (3 per worker), on both worker processes.
    await expect
      .poll(
        async () =>
          new Set((await monitor.workers()).filter((w) => w.runningCount > 0).map((w) => w.pid)).size,
        {
          timeout: 10_000,
        },
      )
      .toBe(2);
    await watch.waitForLine(
      (line) => (JSON.parse(line) as { counts: { running: number } }).counts.running === 6,
    );

    const cancelled = await cli(['cancel', group, '--reason', 'maintenance window']);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(
      new RegExp(`^Cancelled group ${group}: it is (cancelling|cancelled)\\.`),
    );
    expect(await watch.exited).toBe(7);
    const last = JSON.parse(watch.lines.at(-1) ?? '{}') as Record<string, unknown>;
    expect(last).toMatchObject({
      id: group,
      state: 'cancelled',
      final: true,
      reason: { kind: 'user', message: 'maintenance window' },
      counts: { total: 10, cancelled: 10, running: 0 },
    });
    // Watching a group that already ended reports it at once, with the same exit code.
    const again = await cli(['watch', group]);
    expect(again.code).toBe(7);
    expect(again.stdout).toContain(`Group ${group} cancelled`);
    expect(again.stdout).toContain('(user: maintenance window)');
    // Cancelling again is not an error.
    const twice = await cli(['cancel', group, '--json']);
    expect(twice.code).toBe(0);
    expect(json(twice)).toEqual({ id: group, cancelled: false, state: 'cancelled' });
    const text = await cli(['status', group]);
    expect(text.stdout).toMatch(/Reason\s+user: maintenance window/);
  });

  test('watch draws a progress bar with counts, rate and ETA, and exits 0 when the group succeeds', async () => {
    const group = id('watch');
    expect((await cli(['submit', '-', '--id', group], ndjson(sleeps(60, 50)))).code).toBe(0);
    const result = await cli(['watch', group]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.at(-2)).toMatch(
      /^\[#{30}\] 100% 60\/60 {2}done 60 {2}failed 0 {2}cancelled 0 {2}running 0 {2}pending 0 {2}[\d.]+\/s/,
    );
    expect(lines.at(-1)).toMatch(new RegExp(`^Group ${group} succeeded: 60 tasks in `));
  });

  test('groups lists the recent groups, newest first, with their states', async () => {
    const older = id('older');
    const newer = id('newer');
    expect((await cli(['submit', '-', '--id', older, '--wait'], ndjson(sleeps(1, 1)))).code).toBe(0);
    expect((await cli(['submit', '-', '--id', newer, '--wait'], ndjson([{ name: 'fail' }]))).code).toBe(6);
    const listed = JSON.parse((await cli(['groups', '--json', '--limit', '2'])).stdout) as {
      id: string;
      state: string;
      firstError: { message: string } | null;
    }[];
    expect(listed.map((g) => [g.id, g.state])).toEqual([
      [newer, 'failed'],
      [older, 'succeeded'],
    ]);
    expect(listed[0]?.firstError?.message).toBe('boom');
    const table = await cli(['groups', '--limit', '2']);
    expect(table.code).toBe(0);
    const [header, first, second] = table.stdout.trim().split('\n');
    expect(header).toMatch(
      /^ID\s+NAME\s+STATE\s+DONE\s+FAILED\s+CANCELLED\s+RUNNING\s+AGE\s+REASON \/ FIRST ERROR$/,
    );
    expect(first).toMatch(
      new RegExp(
        `^${newer}\\s+failed\\s+1/1\\s+1\\s+0\\s+0\\s+.*task 0 \\(fail\\): Error \\[E_TEST\\]: boom$`,
      ),
    );
    expect(second).toMatch(new RegExp(`^${older}\\s+succeeded\\s+1/1\\s+0\\s+0\\s+0\\s+`));
  });

  test('unknown groups, unreachable Redis and usage mistakes: one line on stderr and the documented exit code', async () => {
    for (const command of [['status'], ['watch'], ['cancel']]) {
      expectOneLineError(await cli([...command, 'no-such-group']), 3, 'Group `no-such-group` does not exist');
    }
    const port = await closedPort();
    const unreachable = await runCli(['groups', '--redis', `redis://user:secret@127.0.0.1:${port}`]);
    expectOneLineError(
      unreachable,
      4,
      `Cannot reach Redis at redis://user:***@127.0.0.1:${port}: connect ECONNREFUSED`,
    );
    // REDIS_URL is honoured the same way.
    const fromEnv = await runCli(['groups'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    expectOneLineError(fromEnv, 4, 'Cannot reach Redis');
    expectOneLineError(
      await runCli(['groups', '--redis', 'localhost:6379']),
      2,
      /Invalid `redis`: expected a redis:\/\//,
    );
    expectOneLineError(
      await runCli(['groups', '--queue', 'a:b', ...common().slice(0, 2)]),
      2,
      /Invalid `queue`/,
    );
    expectOneLineError(await cli(['frobnicate']), 2, "unknown command 'frobnicate'");
    expectOneLineError(await cli(['groups', '--limit', 'many']), 2, /--limit <n>.*integer from 1 and up/);
    expectOneLineError(await cli(['status']), 2, "missing required argument 'group'");
  });
});

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 1));
    });
  });
}
