import type { FleetMonitor } from '../monitor/fleet-monitor.ts';
import { ProgressRate } from '../monitor/progress-rate.ts';
import { type Html, html } from './html.ts';
import { groupHeader, taskTable } from './views/group-page.ts';
import { groupsSection } from './views/groups.ts';
import { semaphoresSection } from './views/semaphores.ts';
import { workersSection } from './views/workers.ts';

/** The parts of a page that update live, by the name of the element they fill (`data-live`). */
export type LiveParts = Record<string, Html>;

export interface DashboardSettings {
  readonly groupsListed: number;
  readonly tasksPerPage: number;
}

/** The overview: groups, semaphores, workers. */
export async function overviewParts(monitor: FleetMonitor, settings: DashboardSettings): Promise<LiveParts> {
  const [groups, semaphores, workers, now] = await Promise.all([
    monitor.groups(settings.groupsListed),
    monitor.semaphores(),
    monitor.workers(),
    monitor.now(),
  ]);
  return {
    groups: groupsSection(groups, now),
    semaphores: semaphoresSection(semaphores),
    // Heartbeats carry the worker's own clock for its start; compare with ours.
    workers: workersSection(workers, Date.now()),
  };
}

/**
 * A group page: its header and one page of tasks. `rate` belongs to the page's live stream, so the
 * rate and ETA follow what this page has seen.
 */
export async function groupParts(
  monitor: FleetMonitor,
  id: string,
  page: number,
  settings: DashboardSettings,
  rate: ProgressRate = new ProgressRate(),
): Promise<LiveParts> {
  const status = await monitor.group(id);
  const { succeeded, failed, cancelled, total } = status.counts;
  rate.add(succeeded + failed + cancelled, performance.now());
  const [firstError, rows, now] = await Promise.all([
    monitor.firstError(status),
    monitor.tasks(status, page * settings.tasksPerPage, settings.tasksPerPage),
    monitor.now(),
  ]);
  const header = groupHeader({
    status,
    firstError,
    now,
    perSecond: rate.perSecond(),
    etaMs: rate.etaMs(total - succeeded - failed - cancelled),
  });
  return { header, tasks: taskTable(status, rows, page, settings.tasksPerPage) };
}

/** Parts as the page's markup, for the first render. */
export function part(parts: LiveParts, name: string): Html {
  return html`<div data-live="${name}">${parts[name]}</div>`;
}
