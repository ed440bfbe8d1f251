/**
 * A module beside the caller, named without its extension: `.ts` when the caller runs from source (Node
 * strips the types), `.js` when it runs from the published build (`dist/`, where Node refuses `.ts`).
 * For modules loaded by URL (worker threads, child processes), which the compiler cannot rewrite.
 */
export function siblingModule(relative: string, callerUrl: string): URL {
  const extension = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`${relative}${extension}`, callerUrl);
}
