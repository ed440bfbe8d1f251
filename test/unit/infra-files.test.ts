import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { Attr, Metric, prometheusNames } from '../../shared/telemetry/names.ts';
import { dashboardQueries } from '../helpers/dashboard.ts';

const read = (path: string) => readFileSync(new URL(`../../infra/${path}`, import.meta.url), 'utf8');
const yaml = (path: string) => parse(read(path)) as Record<string, unknown>;

describe('infra files', () => {
  test('docker-compose.yml parses and runs Redis, two workers, a collector, Jaeger, Prometheus and Grafana', () => {
    const compose = yaml('docker-compose.yml');
    const services = Object.keys(compose.services as object);
    for (const service of [
      'redis',
      'worker-1',
      'worker-2',
      'producer',
      'otel-collector',
      'jaeger',
      'prometheus',
      'grafana',
    ]) {
      expect(services).toContain(service);
    }
    const worker = (compose.services as Record<string, { command: string[] }>)['worker-1'];
    expect(worker?.command).toContain('--metrics-port=9464');
    // The compose workers run the demo tasks the compose producer (examples/load) submits.
    const tasksFlag = worker?.command.find((arg) => arg.startsWith('--tasks=')) ?? '';
    const tasks = readFileSync(
      new URL(`../../${tasksFlag.slice('--tasks='.length)}`, import.meta.url),
      'utf8',
    );
    const load = readFileSync(new URL('../../examples/load/main.ts', import.meta.url), 'utf8');
    const submitted = [...load.matchAll(/createTask\('(\w+)'/g)].map((m) => m[1] ?? '');
    expect(submitted.length).toBeGreaterThan(0);
    for (const name of submitted) expect(tasks).toMatch(new RegExp(`\\b${name}\\b`));
  });

  test('the collector, Prometheus and Grafana provisioning files parse and point at each other', () => {
    const collector = yaml('otel-collector.yml') as {
      service: { pipelines: Record<string, { exporters: string[] }> };
    };
    expect(collector.service.pipelines.traces?.exporters).toContain('otlp/jaeger');
    const prometheus = yaml('prometheus.yml') as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets).toEqual(
      expect.arrayContaining(['worker-1:9464', 'worker-2:9464', 'otel-collector:8889']),
    );
    const datasources = yaml('grafana/provisioning/datasources/datasources.yml') as {
      datasources: { uid: string }[];
    };
    expect(datasources.datasources.map((d) => d.uid)).toEqual(
      expect.arrayContaining(['prometheus', 'jaeger']),
    );
    expect(yaml('grafana/provisioning/dashboards/dashboards.yml')).toMatchObject({ apiVersion: 1 });
  });

  test('every metric the dashboard queries is one the code exports, and every label one it sets', () => {
    const exported = new Set(Object.values(Metric).flatMap((metric) => prometheusNames(metric)));
    const labels = new Set([...Object.values(Attr).map((a) => a.replaceAll('.', '_')), 'le']);
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const used = new Set<string>();
    for (const { title, expr, legend } of queries) {
      // Metric names: the identifiers outside `by (...)` label lists.
      const metrics = expr.replace(/by \([^)]*\)/g, '').match(/\btaskfleet_[a-z_]+/g) ?? [];
      expect(metrics.length, title).toBeGreaterThan(0);
      for (const metric of metrics) {
        expect(exported.has(metric), `${title}: ${metric}`).toBe(true);
        used.add(metric);
      }
      for (const group of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of (group[1] ?? '').split(',').map((l) => l.trim()))
          expect(labels.has(label), `${title}: ${label}`).toBe(true);
      }
      for (const label of legend.matchAll(/\{\{(\w+)\}\}/g))
        expect(labels.has(label[1] ?? ''), `${title}: ${label[1]}`).toBe(true);
    }
    // And the other way round: the dashboard shows every metric taskfleet exports.
    for (const metric of Object.values(Metric)) {
      expect(
        prometheusNames(metric).some((name) => used.has(name)),
        metric.name,
      ).toBe(true);
    }
  });
});
