/**
 * A process that uses DistributedSemaphore as the parent test tells it to, over IPC:
 *   { op: 'acquire', tag, name, options, acquire }  -> { type: 'acquired', tag, token } | { type: 'failed', tag, code }
 *   { op: 'release', tag }                          -> { type: 'released', tag, ok }
 *   { op: 'plan', ... }                             -> runs a random workload, see runPlan
 * TF_CLOCK_SKEW_MS shifts this process's Date by that much: the semaphore must not care.
 */
import { Redis } from 'ioredis';
import { DistributedSemaphore, type Permit } from '../../shared/index.ts';

const skew = Number(process.env.TF_CLOCK_SKEW_MS ?? 0);
if (skew !== 0) {
  const realNow = Date.now;
  Date.now = () => realNow() + skew;
}

const [url = ''] = process.argv.slice(2);
const redis = new Redis(url);
const permits = new Map<string, Permit>();
const send = (message: object): void => void process.send?.(message);

export interface PlanStep {
  readonly permits: number;
  readonly holdMs: number;
  /** Abort the acquire after this many ms (undefined: never). */
  readonly abortAfterMs?: number;
  /** acquire's timeoutMs. */
  readonly timeoutMs?: number;
}

interface PlanMessage {
  readonly op: 'plan';
  readonly name: string;
  readonly prefix: string;
  readonly leaseMs: number;
  readonly steps: readonly PlanStep[];
  /** Loops running the steps at once in this process. */
  readonly concurrency: number;
  /** Keys of the independent check: a counter of permits held and a zset of the holders' tokens. */
  readonly counterKey: string;
  readonly tokensKey: string;
}

process.on('message', (message: { op: string; tag?: string } & Record<string, unknown>) => {
  void handle(message).catch((error: unknown) => send({ type: 'crashed', message: String(error) }));
});

async function handle(message: { op: string; tag?: string } & Record<string, unknown>): Promise<void> {
  if (message.op === 'acquire') {
    const semaphore = new DistributedSemaphore(redis, String(message.name), message.options as object);
    try {
      const permit = await semaphore.acquire(message.acquire as object);
      permits.set(String(message.tag), permit);
      send({ type: 'acquired', tag: message.tag, token: permit.token });
    } catch (error) {
      send({ type: 'failed', tag: message.tag, code: (error as { code?: string }).code });
    }
  } else if (message.op === 'release') {
    const ok = await permits.get(String(message.tag))?.release();
    send({ type: 'released', tag: message.tag, ok });
  } else if (message.op === 'plan') {
    send({ type: 'plan-done', ...(await runPlan(message as unknown as PlanMessage)) });
  }
}

/**
 * Runs the steps with `concurrency` loops. After each grant, in one MULTI: add the permits to an
 * independent counter, add the token, and read the largest token held. The parent checks that the
 * counter never exceeded the limit in force when that largest token was granted.
 */
async function runPlan(plan: PlanMessage) {
  const semaphore = new DistributedSemaphore(redis, plan.name, {
    prefix: plan.prefix,
    leaseMs: plan.leaseMs,
  });
  const observations: [number, number][] = [];
  const outcomes = { acquired: 0, aborted: 0, timedOut: 0, other: [] as string[] };
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < plan.steps.length) {
      const step = plan.steps[next++] as PlanStep;
      const controller = new AbortController();
      const timer =
        step.abortAfterMs === undefined
          ? undefined
          : setTimeout(() => controller.abort(new Error('abort')), step.abortAfterMs);
      let permit: Permit;
      try {
        permit = await semaphore.acquire({
          permits: step.permits,
          signal: controller.signal,
          ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }),
        });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'SEMAPHORE_TIMEOUT') outcomes.timedOut++;
        else if ((error as Error).message === 'abort') outcomes.aborted++;
        else outcomes.other.push(String(error));
        continue;
      } finally {
        clearTimeout(timer);
      }
      outcomes.acquired++;
      const replies = await redis
        .multi()
        .incrby(plan.counterKey, step.permits)
        .zadd(plan.tokensKey, String(permit.token), String(permit.token))
        .zrange(plan.tokensKey, '-1', '-1')
        .exec();
      const largest = (replies?.[2]?.[1] ?? []) as string[];
      observations.push([Number(replies?.[0]?.[1]), Number(largest[0])]);
      if (step.holdMs > 0) await new Promise((resolve) => setTimeout(resolve, step.holdMs));
      await redis
        .multi()
        .decrby(plan.counterKey, step.permits)
        .zrem(plan.tokensKey, String(permit.token))
        .exec();
      await permit.release();
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  return { observations, outcomes };
}
