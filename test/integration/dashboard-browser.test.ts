import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FleetMonitor } from '../../monitor/fleet-monitor.ts';
import { CLI_TASKS, CliProcess, runCli } from '../helpers/cli.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const queue = uniqueQueue('dashboard');
const prefix = `tf-${randomUUID().slice(0, 6)}`;
const common = () => ['--redis', redisUrl(), '--queue', queue, '--prefix', prefix];

let workers: CliProcess[] = [];
let dashboard: CliProcess | undefined;
let browser: Browser | undefined;
let monitor: FleetMonitor;
let url = '';

beforeAll(async () => {
  monitor = new FleetMonitor({ connection: redisUrl(), queue, prefix });
  const worker = () =>
    new CliProcess([
      'worker',
      '--tasks',
      CLI_TASKS,
      '--concurrency',
      '2',
      '--heartbeat',
      '250ms',
      '--json',
      ...common(),
    ]);
  workers = [worker(), worker()];
  dashboard = new CliProcess(['dashboard', '--port', '0', '--refresh', '200ms', '--json', ...common()]);
  const [listening] = await Promise.all([
    dashboard.event('listening'),
    ...workers.map((w) => w.event('ready')),
  ]);
  url = String(listening.url);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await Promise.all(workers.map((w) => w.stop()));
  await monitor.close();
});

const submit = async (id: string, tasks: readonly unknown[]) => {
  const input = tasks.map((t) => JSON.stringify(t)).join('\n');
  const result = await runCli(['submit', '-', '--id', id, ...common()], { input });
  expect(result.stderr).toContain(`as group ${id}`);
  expect(result.code).toBe(0);
};

/** "12/400" in an element: the settled count. */
const settledIn = async (page: Page, selector: string): Promise<number> =>
  Number(((await page.locator(selector).first().textContent()) ?? '').split('/')[0]);

describe('the dashboard in a browser (Chromium)', () => {
  test("a running group's progress advances without a reload; Cancel stops it on both workers", async () => {
    if (browser === undefined) throw new Error('no browser');
    const id = `dash-${randomUUID().slice(0, 8)}`;
    await submit(
      id,
      Array.from({ length: 1000 }, () => ({ name: 'sleep', data: { ms: 100 } })),
    );
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });

    await page.goto(`${url}/`);
    const row = `tr[data-group="${id}"] .progress-text`;
    const first = await settledIn(page, row);
    await expect.poll(() => settledIn(page, row), { timeout: 10_000 }).toBeGreaterThan(first);

    await page.click(`tr[data-group="${id}"] a`);
    await page.waitForSelector('#cancel');
    const header = '.group-head .progress-text';
    const before = await settledIn(page, header);
    await expect.poll(() => settledIn(page, header), { timeout: 10_000 }).toBeGreaterThan(before);
    // Both worker processes are running the group's tasks.
    await expect
      .poll(
        async () =>
          new Set((await monitor.workers()).filter((w) => w.runningCount > 0).map((w) => w.pid)).size,
      )
      .toBe(2);
    const navigationsBeforeCancel = navigations;

    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#cancel');
    await expect
      .poll(() => page.locator('.group-head .state').textContent(), { timeout: 15_000 })
      .toBe('cancelled');
    expect(navigations).toBe(navigationsBeforeCancel); // the page updated itself: no reload
    await expect.poll(() => page.locator('#cancel').count()).toBe(0);
    await expect.poll(() => page.locator('.tasks .outcome-cancelled').count()).toBeGreaterThan(0);
    expect(await page.locator('.tasks .outcome-succeeded').count()).toBeGreaterThan(0);
    expect(await page.locator('.facts .reason').textContent()).toBe('user: cancelled from the dashboard');

    const status = await monitor.group(id);
    expect(status.state).toBe('cancelled');
    expect(status.reason).toEqual({ kind: 'user', message: 'cancelled from the dashboard' });
    expect(status.counts.succeeded).toBeGreaterThan(0);
    expect(status.counts.succeeded).toBeLessThan(1000);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-group.png`, fullPage: false });
    await page.close();
  });

  test('the semaphore view shows holders and waiters in order, and the workers', async () => {
    if (browser === undefined) throw new Error('no browser');
    const id = `gate-${randomUUID().slice(0, 8)}`;
    const semaphore = `gate-${randomUUID().slice(0, 6)}`;
    // Limit 1: one task holds the permit, two wait for it (giving their worker slots back meanwhile).
    await submit(
      id,
      Array.from({ length: 3 }, () => ({ name: 'hold', data: { semaphore, limit: 1 } })),
    );
    const busy = `sleep-${randomUUID().slice(0, 8)}`;
    await submit(
      busy,
      Array.from({ length: 300 }, () => ({ name: 'sleep', data: { ms: 100 } })),
    );

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${url}/`);
    const card = `[data-semaphore="${semaphore}"]`;
    await expect
      .poll(() => page.locator(`${card} table.holders tbody tr`).count(), { timeout: 10_000 })
      .toBe(1);
    await expect
      .poll(() => page.locator(`${card} table.waiters tbody tr`).count(), { timeout: 10_000 })
      .toBe(2);
    const holder = (await page.locator(`${card} table.holders tbody tr td`).first().textContent()) ?? '';
    const pids = workers.map((w) => w.pid);
    expect(pids.some((pid) => holder.endsWith(`:${pid}`))).toBe(true);
    expect(await page.locator(`${card} table.waiters tbody tr td`).first().textContent()).toBe('1');
    await expect.poll(() => page.locator('table.workers tbody tr').count()).toBe(2);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-overview.png`, fullPage: true });

    // Cancelling the group frees the permit and empties the queue, live.
    expect((await runCli(['cancel', id, ...common()])).code).toBe(0);
    await expect.poll(() => page.locator(`${card} table.holders`).count(), { timeout: 10_000 }).toBe(0);
    expect(await page.locator(`${card} table.waiters`).count()).toBe(0);
    expect((await runCli(['cancel', busy, ...common()])).code).toBe(0);
    await page.close();
  });
});
