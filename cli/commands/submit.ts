import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import type { FleetMonitor } from '../../monitor/fleet-monitor.ts';
import { Producer } from '../../producer/producer.ts';
import type { TaskGroup } from '../../producer/task-group.ts';
import { cancelReason } from '../../shared/cancel-reason.ts';
import { defaults } from '../../shared/defaults.ts';
import { ErrorCode, InvalidInputError, isTaskfleetError } from '../../shared/errors.ts';
import { name, parseOptions } from '../../shared/options.ts';
import { duration, positiveInteger } from '../arguments.ts';
import type { Act } from '../command-action.ts';
import type { CliContext } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { type InputValue, readJsonObjects } from '../task-input.ts';
import { watchGroup } from './watch.ts';

interface SubmitOptions {
  readonly id?: string;
  readonly name?: string;
  readonly policy?: string;
  readonly maxConcurrency?: number;
  readonly deadline?: number;
  readonly wait?: boolean;
}

/** One task of the input: `{"name": "fetch", "data": {...}, "options": {"attempts": 3}}`. */
const taskSchema = z.strictObject({
  name: name('task name'),
  data: z.unknown().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});

/** Room for a task's name and options around its data. */
const ENVELOPE_CHARS = 64 * 1024;

export function submitCommand(program: Command, act: Act): void {
  program
    .command('submit')
    .description(
      'submit a group of tasks from a file (NDJSON, one task a line, or a JSON array), streamed; - reads stdin',
    )
    .argument('<file>', 'task file, or - for stdin; each task is {"name": ..., "data": ..., "options": ...}')
    .option('--id <id>', 'group id (default: a random UUID)')
    .option('--name <label>', 'a label for people (dashboard, `groups`)')
    .addOption(
      new Option('--policy <policy>', 'fail-fast: one failure cancels the rest; all-settled: every outcome')
        .choices(['fail-fast', 'all-settled'])
        .default('fail-fast'),
    )
    .option('--max-concurrency <n>', 'at most N tasks of the group run at once, fleet-wide', positiveInteger)
    .option('--deadline <duration>', 'cancel the group this long after it starts (30s, 5m, 2h)', duration)
    .option('--wait', 'wait for the group to end, with a progress bar; exit 6 if it failed, 7 if cancelled')
    .action(act(async (ctx, file: string, options: SubmitOptions) => submit(ctx, file, options)));
}

async function submit(ctx: CliContext, file: string, options: SubmitOptions): Promise<ExitCode> {
  const label = file === '-' ? 'stdin' : file;
  // A missing file is the user's mistake: say so before anything is created.
  const input: Readable = file === '-' ? process.stdin : await openFile(file);
  const chunks = input.setEncoding('utf8') as AsyncIterable<string>;
  const monitor = await ctx.monitor(); // Redis answers, or the user hears it is unreachable
  const unhandled = await unhandledNames(monitor);
  const { redis: connection, queue, prefix } = ctx.options;
  const producer = new Producer({ connection, queue, prefix });
  ctx.onClose(() => producer.close());
  const objects = readJsonObjects(chunks, label, defaults.maxDataBytes + ENVELOPE_CHARS);
  // The first task is read before the group is created: an empty or broken file creates nothing.
  const first: IteratorResult<InputValue> = await objects.next();
  if (first.done)
    throw new InvalidInputError(`${label}: no tasks (expected NDJSON or a JSON array of tasks)`);
  const tg = producer.taskGroup({
    ...(options.id === undefined ? {} : { id: options.id }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.policy === undefined ? {} : { policy: options.policy as 'fail-fast' }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    ...(options.deadline === undefined ? {} : { deadlineMs: options.deadline }),
  });
  await tg.ready();

  const interrupted = new AbortController();
  const onSigint = (): void => {
    interrupted.abort();
    // Ends a read that waits on a silent stdin, so Ctrl-C is heard at once.
    input.destroy();
  };
  process.once('SIGINT', onSigint);
  let count = 0;
  let stoppedEarly = false;
  try {
    for (let next: IteratorResult<InputValue> = first; !next.done; next = await objects.next()) {
      if (interrupted.signal.aborted) throw new Interrupted();
      try {
        const name = addTask(tg, next.value.value, `${label} line ${next.value.line}`);
        if (unhandled(name)) {
          ctx.out.note(
            `taskfleet: warning: no live worker of queue ${queue} handles task \`${name}\` (${label} line ${next.value.line})`,
          );
        }
      } catch (error) {
        // The group stopped while we were feeding it (a fail-fast failure, a cancel, its deadline).
        if ((error as { code?: unknown }).code !== ErrorCode.GroupNotOpen) throw error;
        stoppedEarly = true;
        break;
      }
      count++;
      // Backpressure: never hold more than a batch of tasks that Redis has not taken yet.
      if (tg.buffered >= defaults.batchSize) await tg.drain();
    }
    if (interrupted.signal.aborted) throw new Interrupted();
    await tg.close();
  } catch (thrown) {
    // Ctrl-C, whatever the destroyed input made the reader throw.
    const error = interrupted.signal.aborted ? new Interrupted() : thrown;
    // Like an exception inside asyncio's `async with TaskGroup()`: the group is cancelled, not half-run.
    const why = error instanceof Interrupted ? 'submit was interrupted' : (error as Error).message;
    await tg.cancelWith(cancelReason('producer-error', `taskfleet submit: ${why}`)).catch(() => undefined);
    await tg.close().catch(() => undefined);
    const cancelled = `group ${tg.id} was cancelled after ${count} task${count === 1 ? '' : 's'}`;
    if (error instanceof Interrupted) {
      ctx.out.note(`Interrupted: ${cancelled}.`);
      return ExitCode.Interrupted;
    }
    // One line for the user: what was wrong, and what became of the group.
    if (error instanceof InvalidInputError)
      throw new InvalidInputError(`${error.message} (${cancelled})`, { cause: error });
    ctx.out.note(`taskfleet: ${cancelled}`);
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    input.destroy();
  }

  ctx.out.data({ id: tg.id, tasks: count, queue });
  ctx.out.line(tg.id);
  if (stoppedEarly) {
    const state = (await tg.status()).state;
    ctx.out.note(
      `Group ${tg.id} stopped (${state}) after ${count} tasks; the rest of ${label} was not submitted.`,
    );
    if (!options.wait)
      return state === 'failing' || state === 'failed' ? ExitCode.GroupFailed : ExitCode.GroupCancelled;
  } else {
    ctx.out.note(`Submitted ${count} tasks to queue ${queue} as group ${tg.id}.`);
  }
  if (!options.wait) return ExitCode.Ok;
  return watchGroup(ctx, tg.id);
}

/** Adds one task of the input; returns its name. */
function addTask(tg: TaskGroup, value: unknown, where: string): string {
  try {
    const task = parseOptions(taskSchema, value, 'task');
    tg.createTask(task.name, task.data, task.options);
    return task.name;
  } catch (error) {
    if (isTaskfleetError(error) && error.code !== ErrorCode.GroupNotOpen)
      throw new InvalidInputError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * A check of task names against what the live workers say they handle (their heartbeats), answering
 * true once per name no worker has. With no live worker at all it says nothing: workers may start later.
 */
async function unhandledNames(monitor: FleetMonitor): Promise<(name: string) => boolean> {
  const workers = await monitor.workers();
  if (workers.length === 0) return () => false;
  const handled = new Set(workers.flatMap((w) => w.tasks));
  const warned = new Set<string>();
  return (name) => {
    if (handled.has(name) || warned.has(name)) return false;
    warned.add(name);
    return true;
  };
}

async function openFile(file: string): Promise<Readable> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InvalidInputError(`${file} is not a file`);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    const code = (error as { code?: string }).code;
    throw new InvalidInputError(
      code === 'ENOENT' ? `${file}: no such file` : `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  return createReadStream(file);
}

class Interrupted extends Error {}
