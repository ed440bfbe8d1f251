import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../../infra/free-port.ts';
import { Producer } from '../../producer/index.ts';
import { GroupFailedError } from '../../shared/index.ts';
import { Fleet } from '../fleet/fleet.ts';
import { dashboardQueries } from '../helpers/dashboard.ts';
import { parsePrometheusText, type Sample } from '../helpers/prometheus-text.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';
import { eventOf } from '../helpers/use-fleet.ts';

/**
 * The worker's Prometheus endpoint (`metricsPort`), scraped during a run; and a real Prometheus
 * (Debian's package; CI installs it) scraping a live worker and answering every query of the Grafana
 * dashboard.
 */
const queue = uniqueQueue('metrics');
const semaphore = `metrics-${queue}`;
let fleet: Fleet;
let producer: Producer;
let metricsUrl: string;

beforeAll(async () => {
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  fleet = await Fleet.start({
    redisUrl: redisUrl(),
    queue,
    workers: 0,
    env: { OTEL_TRACES_EXPORTER: 'none' },
  });
  await fleet.add({ concurrency: 4 }, port);
  producer = new Producer({ connection: redisUrl(), queue });
});

afterAll(async () => {
  await producer?.close();
  await fleet?.stop();
});

async function scrape(): Promise<Sample[]> {
  return parsePrometheusText(await (await fetch(metricsUrl)).text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe("the worker's Prometheus endpoint", () => {
  test('shows the metrics during a run, with sensible values', async () => {
    const tg = producer.taskGroup();
    for (let i = 0; i < 8; i++) tg.createTask('withPermit', { semaphore, limit: 2, ms: 300 });
    const done = tg.wait();

    // While it runs: permits in use reach the limit and never pass it; others wait.
    let seenBusy = false;
    while (!seenBusy) {
      const samples = await scrape();
      const used = value(samples, 'taskfleet_semaphore_permits_in_use', {
        taskfleet_semaphore_name: semaphore,
      });
      expect(used).toBeLessThanOrEqual(2);
      if (used === 2) {
        seenBusy = true;
        expect(value(samples, 'taskfleet_semaphore_limit', { taskfleet_semaphore_name: semaphore })).toBe(2);
        expect(
          value(samples, 'taskfleet_semaphore_waiters', { taskfleet_semaphore_name: semaphore }),
        ).toBeGreaterThan(0);
        expect(value(samples, 'taskfleet_worker_active_tasks')).toBeGreaterThan(0);
        expect(value(samples, 'taskfleet_queue_jobs', { taskfleet_queue_state: 'active' })).toBeGreaterThan(
          0,
        );
      }
    }
    await done;

    const samples = await scrape();
    const ok = { taskfleet_task_name: 'withPermit', taskfleet_task_outcome: 'succeeded' };
    expect(value(samples, 'taskfleet_tasks_total', ok)).toBe(8);
    expect(value(samples, 'taskfleet_task_duration_seconds_count', ok)).toBe(8);
    // Seconds, not milliseconds: 8 tasks of ~0.3 s.
    const seconds = value(samples, 'taskfleet_task_duration_seconds_sum', ok);
    expect(seconds).toBeGreaterThan(2);
    expect(seconds).toBeLessThan(30);
    // Buckets that resolve milliseconds.
    const buckets = samples
      .filter((s) => s.name === 'taskfleet_task_duration_seconds_bucket')
      .map((s) => Number(s.labels.le));
    expect(buckets).toEqual(expect.arrayContaining([0.0005, 0.001, 0.005, 0.01]));
    expect(
      value(samples, 'taskfleet_semaphore_wait_seconds_count', { taskfleet_semaphore_name: semaphore }),
    ).toBe(8);
    expect(
      value(samples, 'taskfleet_groups_total', { taskfleet_group_state: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(samples, 'taskfleet_semaphore_permits_in_use', { taskfleet_semaphore_name: semaphore }),
    ).toBe(0);
  });

  test('measures how long a cancellation took to reach the running siblings', async () => {
    const tg = producer.taskGroup();
    tg.createTask('block');
    tg.createTask('block');
    await fleet.waitForCount(eventOf(tg.id, 'started'), 2);
    const before = value(await scrape(), 'taskfleet_cancel_latency_seconds_count', {
      taskfleet_cancel_kind: 'failure',
    });
    tg.createTask('fail');
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupFailedError);
    const samples = await scrape();
    expect(
      value(samples, 'taskfleet_cancel_latency_seconds_count', { taskfleet_cancel_kind: 'failure' }) - before,
    ).toBe(2);
    expect(
      value(samples, 'taskfleet_cancel_latency_seconds_sum', { taskfleet_cancel_kind: 'failure' }),
    ).toBeLessThan(1);
    expect(
      value(samples, 'taskfleet_tasks_total', {
        taskfleet_task_name: 'block',
        taskfleet_task_outcome: 'cancelled',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(samples, 'taskfleet_groups_total', { taskfleet_group_state: 'failed' }),
    ).toBeGreaterThanOrEqual(1);
  });
});

const hasPrometheus = await new Promise<boolean>((resolve) => {
  execFile('promtool', ['--version'], (error) => resolve(error === null));
});
const requirePrometheus = process.env.TASKFLEET_REQUIRE_PROMETHEUS === '1';

describe.runIf(hasPrometheus || requirePrometheus)('Prometheus and the Grafana dashboard', () => {
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let api: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskfleet-prometheus-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    const target = new URL(metricsUrl).host;
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: taskfleet-workers\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('promtool accepts infra/prometheus.yml', async () => {
    const config = new URL('../../infra/prometheus.yml', import.meta.url).pathname;
    const output = await new Promise<string>((resolve, reject) => {
      execFile('promtool', ['check', 'config', config], (error, stdout, stderr) =>
        error ? reject(new Error(stderr)) : resolve(stdout),
      );
    });
    expect(output).toContain('SUCCESS');
  });

  test('every query of the Grafana dashboard returns data from a Prometheus scraping a live worker', async () => {
    // Keep the fleet busy while Prometheus scrapes: permits, waiters, failures and cancellations.
    const stop = new AbortController();
    const load = (async () => {
      while (!stop.signal.aborted) {
        const tg = producer.taskGroup();
        for (let i = 0; i < 4; i++) tg.createTask('withPermit', { semaphore, limit: 2, ms: 100 });
        tg.createTask('block');
        tg.createTask('sleep', { ms: 50, value: 1 });
        await fleet.waitFor(eventOf(tg.id, 'started'));
        tg.createTask('fail');
        await tg.wait().catch(() => undefined);
      }
    })();
    try {
      for (const { title, expr } of dashboardQueries()) {
        const query = expr.replaceAll('$__rate_interval', '15s');
        await expect
          .poll(
            async () => {
              const reply = (await (
                await fetch(`${api}/query?query=${encodeURIComponent(query)}`)
              ).json()) as {
                status: string;
                data?: { result: unknown[] };
              };
              return reply.status === 'success' ? (reply.data?.result.length ?? 0) : -1;
            },
            { timeout: 30_000, interval: 500, message: `${title}: ${query}` },
          )
          .toBeGreaterThan(0);
      }
    } finally {
      stop.abort();
      await load;
    }
  }, 90_000);
});
