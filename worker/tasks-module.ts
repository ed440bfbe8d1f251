import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../shared/errors.ts';
import type { FleetWorker } from './fleet-worker.ts';
import type { TaskHandler } from './task-context.ts';
import type { TaskDefinitionOptions } from './task-registry.ts';

/** A task in a tasks module: a handler, or a handler with its options. */
export type TaskModuleEntry =
  | TaskHandler
  | { readonly handler: TaskHandler; readonly options?: TaskDefinitionOptions };

/**
 * Registers the tasks a module exports on a worker, named by their keys: the default export if it is an
 * object of tasks, else the module's named exports. Returns the task names.
 *
 *   export default {
 *     fetch: async (data, ctx) => (await fetch(data.url, { signal: ctx.signal })).status,
 *     resize: { handler: resize, options: { local: { cpu: 1 } } },
 *   };
 */
export async function loadTasksModule(worker: FleetWorker, module: string | URL): Promise<string[]> {
  const url =
    module instanceof URL
      ? module.href
      : isAbsolute(module) || !/^[a-z]+:/i.test(module)
        ? pathToFileURL(resolve(module)).href
        : module;
  const exports = (await import(url)) as Record<string, unknown>;
  const source =
    typeof exports.default === 'object' && exports.default !== null
      ? (exports.default as Record<string, unknown>)
      : exports;
  const names: string[] = [];
  for (const [name, entry] of Object.entries(source)) {
    if (name === 'default') continue;
    if (typeof entry === 'function') {
      worker.task(name, entry as TaskHandler);
    } else if (
      typeof entry === 'object' &&
      entry !== null &&
      typeof (entry as { handler?: unknown }).handler === 'function'
    ) {
      const { handler, options } = entry as { handler: TaskHandler; options?: TaskDefinitionOptions };
      worker.task(name, handler, options);
    } else {
      continue;
    }
    names.push(name);
  }
  if (names.length === 0)
    throw new InvalidArgumentError(`${url} exports no tasks (functions, or { handler } objects)`);
  return names;
}
