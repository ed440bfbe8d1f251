import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { formatDuration } from '../../monitor/format.ts';
import { defaults } from '../../shared/defaults.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import type { Telemetry } from '../../telemetry/start-telemetry.ts';
import { FleetWorker } from '../../worker/fleet-worker.ts';
import type { Logger } from '../../worker/options.ts';
import { loadTasksModule } from '../../worker/tasks-module.ts';
import { duration, limitPair, portNumber, positiveInteger } from '../arguments.ts';
import type { Act } from '../command-action.ts';
import type { CliContext } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';

interface WorkerCommandOptions {
  readonly tasks: string;
  readonly concurrency: number;
  readonly local?: Record<string, number>;
  readonly global?: Record<string, number>;
  readonly name?: string;
  readonly semaphorePrefix?: string;
  readonly shutdownGrace?: number;
  readonly heartbeat?: number;
  readonly telemetry?: boolean;
  readonly metricsPort?: number;
  readonly metricsHost?: string;
}

export function workerCommand(program: Command, act: Act): void {
  program
    .command('worker')
    .description(
      'run a worker with the task handlers a module exports; SIGTERM or Ctrl-C closes it gracefully',
    )
    .requiredOption('--tasks <module>', 'module exporting the handlers: { name: (data, ctx) => result, ... }')
    .option(
      '--concurrency <n>',
      'handlers running at once in this process',
      positiveInteger,
      defaults.concurrency,
    )
    .option('--local <name=n>', 'a local limit, e.g. cpu=2 (repeatable)', limitPair)
    .option(
      '--global <name=n>',
      'a fleet-wide limit its tasks use, e.g. api.example=10 (repeatable)',
      limitPair,
    )
    .option('--name <name>', 'a name for this worker (BullMQ, `workers`)')
    .option(
      '--semaphore-prefix <prefix>',
      'key prefix of the fleet-wide limits (default: --prefix); the same for queues that share limits',
    )
    .option(
      '--shutdown-grace <duration>',
      'on SIGTERM, how long running tasks get to finish (default 10s)',
      duration,
    )
    .option(
      '--heartbeat <duration>',
      'heartbeat interval (default 2s); a worker drops off the list after 3 missed beats',
      duration,
    )
    .option('--telemetry', 'start OpenTelemetry (traces over OTLP, configured by the OTEL_* variables)')
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on this port (implies --telemetry)',
      portNumber,
    )
    .option('--metrics-host <host>', 'interface for the metrics endpoint (default 127.0.0.1)')
    .action(act(async (ctx, options: WorkerCommandOptions) => runWorker(ctx, options)));
}

async function runWorker(ctx: CliContext, options: WorkerCommandOptions): Promise<ExitCode> {
  const { out } = ctx;
  await ctx.monitor(); // fail fast when Redis is unreachable: a worker would otherwise wait for it forever
  const logger: Logger = {
    warn: (message, details) => out.note(`[taskfleet] warning: ${message}${detail(details)}`),
    error: (message, details) => out.note(`[taskfleet] error: ${message}${detail(details)}`),
  };
  // The SDK first, before the worker exists (README, Observability); loaded only when asked for.
  const telemetry = await startWorkerTelemetry(options);
  if (telemetry !== undefined) ctx.onClose(() => telemetry.shutdown());
  const worker = new FleetWorker({
    connection: ctx.options.redis,
    queue: ctx.options.queue,
    prefix: ctx.options.prefix,
    concurrency: options.concurrency,
    localLimits: options.local ?? {},
    globalLimits: options.global ?? {},
    logger,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.semaphorePrefix === undefined ? {} : { semaphorePrefix: options.semaphorePrefix }),
    ...(options.shutdownGrace === undefined ? {} : { shutdownGraceMs: options.shutdownGrace }),
    ...(options.heartbeat === undefined ? {} : { heartbeatIntervalMs: options.heartbeat }),
  });
  const tasks = await loadTasks(worker, options.tasks);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C: leave now. Running tasks' jobs go back to the queue when their locks run out.
      out.note(`[taskfleet] ${signal} again: exiting without waiting for running tasks`);
      process.exit(ExitCode.Interrupted);
    }
    out.note(
      `[taskfleet] ${signal}: closing; ${worker.activeTasks} running tasks get up to ${formatDuration(worker.options.shutdownGraceMs)} to finish`,
    );
    void worker.close();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await worker.ready();
    const ready = {
      event: 'ready',
      id: worker.id,
      pid: process.pid,
      queue: ctx.options.queue,
      concurrency: options.concurrency,
      tasks,
      metrics: telemetry?.metricsUrl ?? null,
    };
    out.data(ready);
    out.line(
      `Worker ${worker.id} ready on queue ${ctx.options.queue} (concurrency ${options.concurrency}): ${tasks.join(', ')}`,
    );
    if (telemetry?.metricsUrl !== undefined) out.line(`Prometheus metrics: ${telemetry.metricsUrl}`);
    await worker.run();
    out.data({ event: 'closed', id: worker.id });
    out.line(`Worker ${worker.id} closed.`);
    return ExitCode.Ok;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await worker.close();
  }
}

async function startWorkerTelemetry(options: WorkerCommandOptions): Promise<Telemetry | undefined> {
  if (options.telemetry !== true && options.metricsPort === undefined) return undefined;
  const { startTelemetry } = await import('../../telemetry/start-telemetry.ts');
  return startTelemetry({
    serviceName: 'taskfleet-worker',
    ...(options.metricsPort === undefined ? {} : { metricsPort: options.metricsPort }),
    ...(options.metricsHost === undefined ? {} : { metricsHost: options.metricsHost }),
  });
}

async function loadTasks(worker: FleetWorker, module: string): Promise<string[]> {
  if (!/^[a-z]+:/i.test(module)) {
    const found = await stat(module).then(
      (info) => info.isFile(),
      () => false,
    );
    if (!found) throw new InvalidInputError(`Tasks module ${module}: no such file`);
  }
  try {
    return await loadTasksModule(worker, module);
  } catch (error) {
    const first = String((error as Error).message ?? error).split('\n')[0];
    throw new InvalidInputError(`Tasks module ${module} does not load: ${first}`, { cause: error });
  }
}

function detail(details: unknown): string {
  if (details === undefined) return '';
  return `: ${details instanceof Error ? details.message : String(details)}`;
}
