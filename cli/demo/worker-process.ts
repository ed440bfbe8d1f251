import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { siblingModule } from '../../shared/sibling-module.ts';

const CLI = fileURLToPath(siblingModule('../main', import.meta.url));

export interface CliWorkerOptions {
  readonly redis: string;
  readonly queue: string;
  readonly prefix: string;
  readonly tasks: string;
  readonly concurrency: number;
}

/**
 * A `taskfleet worker` child process, as a user would start one. Resolves once it says it is ready
 * (its `--json` "ready" event); what its tasks print goes to `print`, what it logs to stderr.
 */
export async function startCliWorker(
  options: CliWorkerOptions,
  print: (line: string) => void,
): Promise<ChildProcess> {
  const args = [
    CLI,
    'worker',
    '--json',
    ...['--queue', options.queue, '--prefix', options.prefix],
    ...['--tasks', options.tasks, '--concurrency', String(options.concurrency)],
  ];
  // The URL goes by environment, not argv: a password in argv shows in `ps` and in telemetry.
  const child = spawn(process.execPath, args, {
    env: { ...process.env, REDIS_URL: options.redis },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Its warnings go on to the demo's stderr; its note that it is closing at the end of the demo does not.
  createInterface({ input: child.stderr as NonNullable<typeof child.stderr> }).on('line', (line) => {
    if (!line.startsWith('[taskfleet] SIGTERM')) process.stderr.write(`${line}\n`);
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void =>
      reject(new Error(`a demo worker exited (${code}) before it was ready`));
    child.once('exit', onExit);
    createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).on('line', (line) => {
      const event = eventOf(line);
      if (event === undefined) print(line);
      if (event !== 'ready') return;
      child.off('exit', onExit);
      resolve(child);
    });
  });
}

/** SIGTERM (a graceful close), and resolves when the process has exited. */
export function stopCliWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** The `event` of a `--json` line of the worker; undefined for anything else its tasks print. */
function eventOf(line: string): string | undefined {
  if (!line.startsWith('{"event":')) return undefined;
  try {
    return (JSON.parse(line) as { event?: string }).event;
  } catch {
    return undefined;
  }
}
