import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * The `taskfleet` command, run from source so it shares modules with the tests' task files. package.json's
 * `bin` is its build (dist/cli/main.js), which test/package/installed-package.test.ts runs as installed.
 */
export const CLI = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

export const CLI_TASKS = fileURLToPath(new URL('../fleet/cli-tasks.ts', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs `taskfleet <args>` in a child process to its end. REDIS_URL is cleared unless `env` sets it. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options.env);
  child.stdin?.end(options.input ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running `taskfleet` process (a worker, the dashboard, a watch): its lines as they come. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #waiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();

  constructor(args: readonly string[], env?: NodeJS.ProcessEnv) {
    this.child = spawnCli(args, env);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    createInterface({ input: this.child.stdout as NonNullable<ChildProcess['stdout']> }).on(
      'line',
      (line) => {
        this.lines.push(line);
        for (const waiter of [...this.#waiters]) {
          if (!waiter.match(line)) continue;
          this.#waiters.delete(waiter);
          waiter.resolve(line);
        }
      },
    );
    createInterface({ input: this.child.stderr as NonNullable<ChildProcess['stderr']> }).on('line', (line) =>
      this.errors.push(line),
    );
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** The first stdout line (seen or to come) that matches; rejects if the process exits first. */
  waitForLine(match: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.#waiters.add({ match, resolve });
      void this.exited.then((code) =>
        reject(new Error(`taskfleet exited (${code}) first; stderr: ${this.errors.join('\n')}`)),
      );
    });
  }

  /** The first `--json` event of a kind on stdout. */
  async event(kind: string): Promise<Record<string, unknown>> {
    const line = await this.waitForLine(
      (l) => l.startsWith('{') && (JSON.parse(l) as { event?: string }).event === kind,
    );
    return JSON.parse(line) as Record<string, unknown>;
  }

  /** Sends a signal and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const { REDIS_URL: _ignored, ...inherited } = process.env;
  return spawn(process.execPath, [CLI, ...args], {
    env: { ...inherited, NO_COLOR: '1', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
