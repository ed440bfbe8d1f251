import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./semaphore-process.ts', import.meta.url));

type Message = { type: string; tag?: string } & Record<string, unknown>;

/** The parent's handle on a semaphore-process.ts child: send it commands, await its replies. */
export class SemaphoreProcess {
  readonly child: ChildProcess;
  readonly #messages: Message[] = [];
  readonly #waiting = new Set<{ match: (m: Message) => boolean; resolve: (m: Message) => void }>();

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (message: Message) => {
      this.#messages.push(message);
      for (const waiter of [...this.#waiting]) {
        if (waiter.match(message)) {
          this.#waiting.delete(waiter);
          waiter.resolve(message);
        }
      }
    });
  }

  static async start(redisUrl: string, env: Record<string, string> = {}): Promise<SemaphoreProcess> {
    const child = fork(ENTRY, [redisUrl], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return new SemaphoreProcess(child);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  send(command: Record<string, unknown>): void {
    this.child.send(command);
  }

  /** The first message (seen or to come) that matches. */
  next(match: (m: Message) => boolean): Promise<Message> {
    const seen = this.#messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiting.add({ match, resolve }));
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill(signal);
    });
  }
}
