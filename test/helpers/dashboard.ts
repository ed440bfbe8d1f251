import { readFileSync } from 'node:fs';

interface Panel {
  readonly title: string;
  readonly targets: readonly { readonly expr: string; readonly legendFormat?: string }[];
}

/** The PromQL of every panel of infra/grafana/taskfleet.json. */
export function dashboardQueries(): { title: string; expr: string; legend: string }[] {
  const file = new URL('../../infra/grafana/taskfleet.json', import.meta.url);
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as { panels: Panel[] };
  return dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => ({
      title: panel.title,
      expr: target.expr,
      legend: target.legendFormat ?? '',
    })),
  );
}
