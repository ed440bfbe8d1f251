/**
 * Runs in a piscina worker thread: imports the module ctx.toThread named and calls the export.
 * Modules are cached by the thread's loader, so a module is imported once per thread.
 */
export interface ThreadCall {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly args: readonly unknown[];
}

export default async function runInThread(call: ThreadCall): Promise<unknown> {
  const module = (await import(call.moduleUrl)) as Record<string, unknown>;
  const fn = module[call.exportName];
  if (typeof fn !== 'function') {
    throw new TypeError(`\`${call.exportName}\` of ${call.moduleUrl} is not a function (ctx.toThread)`);
  }
  return fn(...call.args);
}
