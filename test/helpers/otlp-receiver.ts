import { createServer, type Server } from 'node:http';

/** A span as an OTLP/HTTP JSON export carries it, flattened for assertions. */
export interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly kind: number;
  readonly service: string;
  /** process.pid of the process that made it. */
  readonly pid: number;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly events: readonly {
    readonly name: string;
    readonly attributes: Readonly<Record<string, unknown>>;
  }[];
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly status: { readonly code: number; readonly message?: string };
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type OtlpAttribute = { key: string; value: OtlpValue };

function attributes(list: readonly OtlpAttribute[] | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    result[key] =
      value.stringValue ??
      (value.intValue === undefined ? undefined : Number(value.intValue)) ??
      value.boolValue ??
      value.doubleValue;
  }
  return result;
}

/**
 * An OTLP/HTTP receiver inside the test: processes under test export their spans here
 * (OTEL_EXPORTER_OTLP_ENDPOINT + OTEL_EXPORTER_OTLP_PROTOCOL=http/json), as they would to a collector.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Every request body as it came (traces, metrics), resource attributes included. */
  readonly bodies: string[] = [];
  readonly #server: Server;
  readonly endpoint: string;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        receiver?.bodies.push(body);
        if (req.url === '/v1/traces' && receiver !== undefined) receiver.#takeTraces(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    receiver = new OtlpReceiver(server, typeof address === 'object' && address !== null ? address.port : 0);
    return receiver;
  }

  /** Environment for a process that should export here. */
  get env(): Record<string, string> {
    return {
      OTEL_EXPORTER_OTLP_ENDPOINT: this.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #takeTraces(body: string): void {
    const request = JSON.parse(body) as {
      resourceSpans?: {
        resource?: { attributes?: OtlpAttribute[] };
        scopeSpans?: { spans?: Record<string, unknown>[] }[];
      }[];
    };
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = attributes(resourceSpans.resource?.attributes);
      const service = String(resource['service.name'] ?? '');
      const pid = Number(resource['process.pid'] ?? 0);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            name: String(span.name),
            traceId: String(span.traceId),
            spanId: String(span.spanId),
            parentSpanId:
              typeof span.parentSpanId === 'string' && span.parentSpanId !== ''
                ? span.parentSpanId
                : undefined,
            kind: Number(span.kind),
            service,
            pid,
            attributes: attributes(span.attributes as OtlpAttribute[]),
            events: ((span.events ?? []) as { name: string; attributes?: OtlpAttribute[] }[]).map((e) => ({
              name: e.name,
              attributes: attributes(e.attributes),
            })),
            links: ((span.links ?? []) as { traceId: string; spanId: string }[]).map((l) => ({
              traceId: l.traceId,
              spanId: l.spanId,
            })),
            status: (span.status ?? { code: 0 }) as { code: number; message?: string },
          });
        }
      }
    }
  }
}
