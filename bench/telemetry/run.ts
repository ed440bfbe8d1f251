/**
 * `npm run bench:telemetry`: what taskfleet's instrumentation costs when no OpenTelemetry SDK is
 * registered ("off"), per task, against the same loop without it. Writes its section of RESULTS.md.
 *
 * Per task a worker makes a consumer span, runs the handler in its context, records the outcome on
 * the span and in two instruments; a producer makes its send spans per batch (not per task).
 */
import type { Job } from 'bullmq';
import type { TaskJobData } from '../../producer/group-client.ts';
import type { TaskJob } from '../../worker/task-job.ts';
import { TaskTelemetry } from '../../worker/task-telemetry.ts';
import { writeSection } from '../lib/results-file.ts';
import { formatSpread, spread } from '../lib/stats.ts';

const TASKS = 200_000;
const ROUNDS = 5;
const job = { id: 'g.e.1', name: 'fetch', attemptsMade: 0, opts: {} } as unknown as Job<TaskJobData>;
const task: TaskJob = {
  groupId: 'g',
  epoch: 'e',
  index: 1,
  data: undefined,
  maxConcurrency: undefined,
  traceparent: undefined,
  traceLink: false,
};

async function handler(): Promise<number> {
  return 1;
}

async function bare(): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < TASKS; i++) await handler();
  return ((performance.now() - started) * 1e6) / TASKS;
}

async function instrumented(): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < TASKS; i++) {
    const telemetry = new TaskTelemetry(job, task, 1, 'tasks', 'host:1');
    await telemetry.run(handler);
    telemetry.end('succeeded');
  }
  return ((performance.now() - started) * 1e6) / TASKS;
}

const without: number[] = [];
const withIt: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order, so warm-up favours neither.
  if (round % 2 === 0) {
    without.push(await bare());
    withIt.push(await instrumented());
  } else {
    withIt.push(await instrumented());
    without.push(await bare());
  }
}
const cost = withIt.map((ns, k) => ns - (without[k] ?? 0));
const body = [
  '## Telemetry off: the cost of the instrumentation with no SDK registered',
  '',
  `- Node ${process.versions.node}; ${ROUNDS} runs of ${TASKS.toLocaleString('en-US')} tasks, alternating; median (min–max).`,
  '- What a worker does per task for telemetry: a consumer span, the handler run in its context, the outcome on the span and in two instruments — all no-ops from @opentelemetry/api.',
  '',
  '| | ns per task |',
  '| --- | --- |',
  `| handler alone | ${formatSpread(spread(without))} |`,
  `| handler with taskfleet's instrumentation, SDK off | ${formatSpread(spread(withIt))} |`,
  `| instrumentation | ${formatSpread(spread(cost))} |`,
  '',
  `A task's own Redis round trips take tens of microseconds at least: ${Math.round(spread(cost).median)} ns is below what a benchmark of the fleet can resolve.`,
].join('\n');
writeSection('telemetry', body);
console.log(body);
