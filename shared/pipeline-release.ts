import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.ts';

/**
 * Makes a connection's pipelines and transactions let go of their commands once their replies are in.
 *
 * ioredis gives every pipeline an own `length` accessor whose getter closes over the pipeline. V8
 * keeps an own accessor in the object's hidden class, so each pipeline gets a hidden class of its own,
 * and hidden classes live in the old generation until the next full (mark-compact) collection. Until
 * then every minor collection finds the finished pipeline reachable from there — its commands, their
 * arguments, its replies — and copies it, then promotes it. For BullMQ's `addBulk` (one pipeline per
 * batch) that is nearly everything a streaming producer sends: V8 then grows the young generation to
 * its limit and fills the old one between full collections. Emptying the pipeline's queue and results
 * after it resolved leaves that hidden class holding an empty shell. (A pipeline that rejected is left
 * alone: a reply still on its way would look its command up in the queue.)
 */
export function releasePipelines<C extends RedisClient>(redis: C): C {
  const { pipeline, multi } = redis;
  const patched = redis as unknown as Record<'pipeline' | 'multi', (...args: unknown[]) => unknown>;
  patched.pipeline = function (this: C, ...args: unknown[]) {
    return releasing((pipeline as (...a: unknown[]) => unknown).apply(this, args));
  };
  patched.multi = function (this: C, ...args: unknown[]) {
    // multi({ pipeline: false }) sends MULTI and returns a promise, not a pipeline.
    return releasing((multi as (...a: unknown[]) => unknown).apply(this, args));
  };
  return redis;
}

/** ioredis' own fields of a pipeline (not part of its typed API; absent in a future version, nothing is done). */
interface PipelineFields {
  _queue?: unknown;
  _result?: unknown;
}

function releasing<T>(made: T): T {
  if (typeof (made as Partial<ChainableCommander> | undefined)?.exec !== 'function') return made;
  const pipeline = made as unknown as ChainableCommander & PipelineFields;
  const exec = pipeline.exec;
  pipeline.exec = function (this: ChainableCommander, ...args: Parameters<ChainableCommander['exec']>) {
    const replies = exec.apply(this, args);
    replies.then(
      () => {
        if (Array.isArray(pipeline._queue)) pipeline._queue.length = 0;
        if (Array.isArray(pipeline._result)) pipeline._result.length = 0;
      },
      () => undefined,
    );
    return replies;
  } as ChainableCommander['exec'];
  return made;
}
