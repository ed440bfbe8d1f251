/**
 * Entry of a fleet worker child process: a FleetWorker configured from TASKFLEET_FLEET_CONFIG, with the
 * tasks of a module. Tells the parent when it is ready; closes gracefully on SIGTERM.
 */
import { startTelemetry, type Telemetry } from '../../telemetry/index.ts';
import { FleetWorker, type FleetWorkerOptions, loadTasksModule } from '../../worker/index.ts';

interface ChildConfig {
  readonly redisUrl: string;
  readonly tasksModule: string;
  readonly options: Omit<FleetWorkerOptions, 'connection'>;
  readonly telemetry?: boolean;
  readonly metricsPort?: number;
}

const config = JSON.parse(process.env.TASKFLEET_FLEET_CONFIG ?? '{}') as ChildConfig;
// The SDK first, as an application would: before the worker exists.
let telemetry: Telemetry | undefined;
if (config.telemetry === true) {
  telemetry = await startTelemetry({
    serviceName: 'taskfleet-worker',
    ...(config.metricsPort === undefined ? {} : { metricsPort: config.metricsPort }),
  });
}
// Tasks that keep their own counters in Redis find it here.
process.env.TASKFLEET_TEST_REDIS = config.redisUrl;
// What the worker logs reaches the test as events (with the error's message, if any).
const log = (level: string) => (message: string, error?: unknown) =>
  void process.send?.({
    type: 'event',
    event: {
      kind: 'log',
      level,
      message,
      error: error instanceof Error ? error.message : undefined,
      pid: process.pid,
    },
  });
const worker = new FleetWorker({
  ...config.options,
  connection: config.redisUrl,
  logger: { warn: log('warn'), error: log('error') },
});
await loadTasksModule(worker, config.tasksModule);
await worker.ready();
process.send?.({ type: 'ready', pid: process.pid });

let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  void worker
    .close()
    .then(() => telemetry?.shutdown()) // flushes the spans before the process ends
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
});
