import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext } from '../../worker/index.ts';

/** The demo's task handlers. Each one says what it does, so the demo output tells the story. */

function say(ctx: TaskContext, what: string): void {
  console.log(`  [worker ${process.pid}] task ${ctx.index} (${ctx.name}) ${what}`);
}

/** Pretends to call an API: waits, then returns a status. Cancellable, like fetch(url, { signal }). */
async function fetchPage(
  data: { url: string; ms: number },
  ctx: TaskContext,
): Promise<{ url: string; status: number }> {
  say(ctx, `fetching ${data.url}`);
  try {
    await sleep(data.ms, undefined, { signal: ctx.signal });
  } catch (error) {
    say(ctx, `cancelled: ${(ctx.signal.reason as Error).message}`);
    throw error;
  }
  say(ctx, 'done');
  return { url: data.url, status: 200 };
}

/** An upstream that fails. */
async function flakyUpstream(data: { ms: number }, ctx: TaskContext): Promise<never> {
  say(ctx, 'calling a flaky upstream');
  await sleep(data.ms, undefined, { signal: ctx.signal });
  say(ctx, 'failed: upstream returned 503');
  throw new Error('upstream returned 503');
}

/** Calls an API that allows 3 calls at once across the whole fleet. */
async function callApi(data: { ms: number }, ctx: TaskContext): Promise<number> {
  await using permit = await ctx.semaphore('api.example', 3).acquire();
  await sleep(data.ms, undefined, { signal: ctx.signal });
  return permit.token;
}

export default { fetchPage, flakyUpstream, callApi };
