import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { type IMetricReader, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { resourceDetectors } from './resource-detectors.ts';

/**
 * The one place taskfleet sets up the OpenTelemetry SDK, for applications (workers, producers, the
 * CLI). Library code uses only @opentelemetry/api and costs nothing when this is never called.
 *
 * Call it first, before creating producers or workers. It is configured by the standard variables:
 * OTEL_TRACES_EXPORTER (default otlp), OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT and
 * OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_SAMPLER(_ARG), OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME ...
 */
export interface TelemetryOptions {
  /** service.name of this process (OTEL_SERVICE_NAME wins when set). */
  readonly serviceName: string;
  /** Serve Prometheus metrics at http://<metricsHost>:<metricsPort>/metrics. */
  readonly metricsPort?: number;
  /** Interface for the metrics endpoint. Default 127.0.0.1; 0.0.0.0 to let a Prometheus elsewhere scrape. */
  readonly metricsHost?: string;
  /** Export metrics over OTLP too, every this many ms (default: only when OTEL_METRICS_EXPORTER says otlp). */
  readonly otlpMetricsIntervalMs?: number;
}

export interface Telemetry {
  /** Where Prometheus metrics are served, if they are. */
  readonly metricsUrl: string | undefined;
  /** Flushes what is buffered (spans, metrics) and stops. Call it before the process exits. */
  shutdown(): Promise<void>;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const readers: IMetricReader[] = [];
  let metricsUrl: string | undefined;
  if (options.metricsPort !== undefined) {
    const host = options.metricsHost ?? '127.0.0.1';
    const prometheus = new PrometheusExporter({ port: options.metricsPort, host, preventServerStart: true });
    await prometheus.startServer();
    readers.push(prometheus);
    metricsUrl = `http://${host}:${options.metricsPort}/metrics`;
  }
  const otlpMetrics = options.otlpMetricsIntervalMs !== undefined || wantsOtlpMetrics();
  if (otlpMetrics) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: options.otlpMetricsIntervalMs ?? 60_000,
      }),
    );
  }
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? options.serviceName,
    // Explicit readers, or none (the SDK would otherwise read OTEL_METRICS_EXPORTER itself).
    metricReaders: readers,
    instrumentations: [],
    resourceDetectors: resourceDetectors(process.env.OTEL_NODE_RESOURCE_DETECTORS),
  });
  sdk.start();
  return { metricsUrl, shutdown: () => sdk.shutdown() };
}

function wantsOtlpMetrics(): boolean {
  return (process.env.OTEL_METRICS_EXPORTER ?? '').split(',').some((exporter) => exporter.trim() === 'otlp');
}
