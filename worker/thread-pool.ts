import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { InvalidArgumentError } from '../shared/errors.ts';
import { siblingModule } from '../shared/sibling-module.ts';
import type { ThreadCall } from './thread-entry.ts';

const ENTRY = siblingModule('./thread-entry', import.meta.url).href;

/** ctx.toThread's pool of worker threads (piscina), started on first use. */
export class ThreadPool {
  readonly #maxThreads: number | undefined;
  #pool: Piscina | undefined;

  constructor(maxThreads: number | undefined) {
    this.#maxThreads = maxThreads;
  }

  run<R>(
    moduleUrl: string | URL,
    exportName: string,
    args: readonly unknown[],
    signal: AbortSignal,
  ): Promise<R> {
    const call: ThreadCall = { moduleUrl: toModuleUrl(moduleUrl), exportName, args: [...args] };
    this.#pool ??= new Piscina({
      filename: ENTRY,
      ...(this.#maxThreads === undefined ? {} : { maxThreads: this.#maxThreads }),
    });
    return this.#pool.run(call, { signal }) as Promise<R>;
  }

  get threads(): number {
    return this.#pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    await this.#pool?.destroy();
    this.#pool = undefined;
  }
}

function toModuleUrl(moduleUrl: string | URL): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl === 'string' && isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href;
  if (typeof moduleUrl === 'string' && /^(file|data):/.test(moduleUrl)) return moduleUrl;
  throw new InvalidArgumentError(
    `Invalid \`moduleUrl\` for ctx.toThread: expected a file URL or an absolute path (e.g. new URL('./work.ts', import.meta.url)), got ${JSON.stringify(moduleUrl)}`,
  );
}
