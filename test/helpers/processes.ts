import { type ChildProcess, execFile, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = (name: string): string => fileURLToPath(new URL(`../fleet/${name}`, import.meta.url));

/** Runs a TypeScript file from test/fleet in a process of its own; resolves with its stdout. */
export function runScript(name: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script(name), ...args], (error, stdout, stderr) => {
      if (error) reject(new Error(`${name} failed: ${stderr || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Starts a TypeScript file from test/fleet and resolves once it sends `{ type }` over IPC. */
export async function startScript(
  name: string,
  args: readonly string[],
  type: string,
): Promise<ChildProcess> {
  const child = fork(script(name), [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { type?: string }) => {
      if (message.type === type) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before '${type}'`)));
  });
  return child;
}

export function killProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
