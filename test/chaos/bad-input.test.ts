import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FleetMonitor } from '../../monitor/fleet-monitor.ts';
import { Producer, type TaskGroup } from '../../producer/index.ts';
import { CANCEL_KINDS } from '../../shared/cancel-reason.ts';
import {
  ArgumentRangeError,
  DataTooLargeError,
  DistributedSemaphore,
  DuplicateGroupError,
  GroupCancelledError,
  InvalidArgumentError,
  isTaskfleetError,
  KeyTypeError,
  TaskDataError,
  type TaskOutcome,
  UnknownTaskError,
} from '../../shared/index.ts';
import { QueueKeys } from '../../shared/keys.ts';
import { FleetWorker } from '../../worker/index.ts';
import { UNSERIALIZABLE_KINDS } from '../fleet/bad-input-tasks.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';
import { eventOf as of, useFleet } from '../helpers/use-fleet.ts';

/**
 * Bad input (DESIGN "Semantics that must hold" 9): each kind gets a typed error with a `code`, at the
 * earliest point, and nothing already accepted is lost. fast-check generates the malformed inputs.
 */

const MAX_DATA_BYTES = 2048;
const MAX_RESULT_BYTES = 4096;
/** The documented group-id alphabet (README), written out here rather than taken from the library. */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** A key prefix of this file's own: its overwritten keys and semaphores stay out of other files' lists. */
const PREFIX = uniqueQueue('bad-input-keys');
const t = useFleet('bad-input', {
  workers: 2,
  tasksModule: new URL('../fleet/bad-input-tasks.ts', import.meta.url).href,
  options: { prefix: PREFIX, concurrency: 2, maxResultBytes: MAX_RESULT_BYTES, cancelPollMs: 500 },
});
let redis: Redis;
/** A producer that declares the fleet's task names and a small data limit. */
let strict: Producer;
const known = ['echo', 'block', 'sleep', 'fail', 'withPermit', 'sizedResult', 'unserializableResult'];

beforeAll(() => {
  redis = new Redis(redisUrl());
  strict = new Producer({
    connection: redisUrl(),
    queue: t.queue,
    prefix: PREFIX,
    tasks: known,
    maxDataBytes: MAX_DATA_BYTES,
  });
});
afterAll(async () => {
  await strict?.close();
  await redis?.quit();
});

/** The error a synchronous call throws (undefined if it does not throw). */
function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

function remoteCode(outcome: TaskOutcome | undefined): string | undefined {
  return outcome?.status === 'rejected' ? outcome.reason.remote.code : undefined;
}

/** Both worker processes still take tasks. */
async function fleetStillServes(): Promise<void> {
  const tg = t.producer.taskGroup();
  for (let i = 0; i < 8; i++) tg.createTask('echo', i);
  expect(await tg.wait()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(t.fleet.pids).toHaveLength(2);
  for (const pid of t.fleet.pids) expect(() => process.kill(pid, 0)).not.toThrow(); // alive
}

describe('unknown task names', () => {
  test('a producer that declares its tasks refuses any other name at createTask; the group keeps its tasks', async () => {
    const tg = strict.taskGroup();
    tg.createTask('echo', 'before');
    await fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter((n) => !known.includes(n)),
        (name) => {
          const error = thrown(() => tg.createTask(name, 1));
          expect(error).toBeInstanceOf(UnknownTaskError);
          expect(error).toMatchObject({ code: 'UNKNOWN_TASK', taskName: name });
        },
      ),
      { numRuns: 200 },
    );
    // Names that are not names at all: empty, too long, not a string.
    await fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(''),
          fc.string({ minLength: 201, maxLength: 400 }),
          fc.integer(),
          fc.constant(null),
          fc.object(),
        ),
        (name) => {
          const error = thrown(() => tg.createTask(name as string, 1));
          expect(isTaskfleetError(error)).toBe(true);
          expect(error).toBeInstanceOf(typeof name === 'string' ? ArgumentRangeError : InvalidArgumentError);
        },
      ),
      { numRuns: 50 },
    );
    tg.createTask('echo', 'after');
    expect(await tg.wait()).toEqual(['before', 'after']);
  });

  test('without declared tasks, the worker fails just the unknown ones with UnknownTaskError and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((n) => !known.includes(n)),
          { minLength: 1, maxLength: 4 },
        ),
        async (names) => {
          const tg = t.producer.taskGroup({ policy: 'all-settled' });
          tg.createTask('echo', 'first');
          for (const name of names) tg.createTask(name, { x: 1 });
          tg.createTask('echo', 'last');
          const outcomes = await tg.wait();
          expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'first' });
          expect(outcomes.at(-1)).toEqual({ status: 'fulfilled', value: 'last' });
          for (const [k, name] of names.entries()) {
            const outcome = outcomes[k + 1];
            expect(remoteCode(outcome)).toBe('UNKNOWN_TASK');
            expect(outcome).toMatchObject({ reason: { task: { taskName: name } } });
          }
        },
      ),
      { numRuns: 5 },
    );
    await fleetStillServes();
  });
});

/** A value JSON cannot carry faithfully, somewhere inside otherwise good JSON. */
const poison = fc.constantFrom<() => unknown>(
  () => () => 1,
  () => 10n,
  () => Symbol('s'),
  () => Number.NaN,
  () => Number.POSITIVE_INFINITY,
  () => Number.NEGATIVE_INFINITY,
  () => new Map(),
  () => new Set([1]),
  () => new Uint8Array(2),
  () => new ArrayBuffer(2),
  () => [undefined],
  () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = { back: cyclic };
    return cyclic;
  },
);
const poisoned = fc
  .tuple(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }), fc.string(), poison, fc.nat(3))
  .map(([base, key, make, depth]) => {
    let value: unknown = make();
    for (let d = 0; d < depth; d++) value = d % 2 === 0 ? [{ ...base }, value] : { ...base, [key]: value };
    return value;
  });

describe('data that is not JSON', () => {
  test('createTask refuses it with TaskDataError; JSON values (and undefined) are accepted and arrive intact', async () => {
    const tg = t.producer.taskGroup();
    tg.createTask('echo', 'before');
    await fc.assert(
      fc.property(poisoned, (data) => {
        const error = thrown(() => tg.createTask('echo', data));
        expect(error).toBeInstanceOf(TaskDataError);
        expect(error).toMatchObject({ code: 'TASK_DATA_INVALID' });
      }),
      { numRuns: 300 },
    );
    const accepted = fc.sample(fc.jsonValue(), { numRuns: 30 });
    for (const data of accepted) tg.createTask('echo', data);
    tg.createTask('echo', undefined); // no data
    tg.createTask('echo', { optional: undefined }); // an absent field, as JSON drops it
    expect(await tg.wait()).toEqual([
      'before',
      ...accepted.map((v) => JSON.parse(JSON.stringify(v))),
      undefined,
      {},
    ]);
  });

  test('a handler result JSON cannot carry fails that task with TaskDataError, not its siblings', async () => {
    const tg = t.producer.taskGroup({ policy: 'all-settled' });
    tg.createTask('echo', 'first');
    for (const kind of UNSERIALIZABLE_KINDS) tg.createTask('unserializableResult', { kind });
    tg.createTask('echo', 'last');
    const outcomes = await tg.wait();
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'first' });
    expect(outcomes.at(-1)).toEqual({ status: 'fulfilled', value: 'last' });
    expect(outcomes.slice(1, -1).map(remoteCode)).toEqual(
      UNSERIALIZABLE_KINDS.map(() => 'TASK_DATA_INVALID'),
    );
    await fleetStillServes();
  });
});

describe('oversized data and results', () => {
  test(`data over maxDataBytes (${MAX_DATA_BYTES} bytes of UTF-8 JSON) is refused with DataTooLargeError; data up to it runs`, async () => {
    const tg = strict.taskGroup();
    const sent: string[] = [];
    await fc.assert(
      fc.property(
        fc
          .array(fc.constantFrom('a', 'é', '€', '😀', '"'), { minLength: 300, maxLength: 1100 })
          .map((chars) => chars.join('')),
        (text) => {
          const bytes = Buffer.byteLength(JSON.stringify({ text }));
          const error = thrown(() => tg.createTask('echo', { text }));
          if (bytes <= MAX_DATA_BYTES) {
            expect(error).toBeUndefined();
            sent.push(text);
          } else {
            expect(error).toBeInstanceOf(DataTooLargeError);
            expect(error).toMatchObject({ code: 'DATA_TOO_LARGE', bytes, limit: MAX_DATA_BYTES });
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(sent.length).toBeGreaterThan(0); // both sides of the limit were generated
    expect(await tg.wait()).toEqual(sent.map((text) => ({ text })));
  });

  test(`a result over maxResultBytes (${MAX_RESULT_BYTES}) fails its task with ResultTooLargeError; the others complete`, async () => {
    const sizes = fc.sample(fc.integer({ min: MAX_RESULT_BYTES - 200, max: MAX_RESULT_BYTES + 200 }), {
      numRuns: 12,
    });
    sizes.push(MAX_RESULT_BYTES, MAX_RESULT_BYTES + 1, 8 * 1024 * 1024);
    const tg = t.producer.taskGroup({ policy: 'all-settled' });
    for (const bytes of sizes) tg.createTask('sizedResult', { bytes });
    const outcomes = await tg.wait();
    for (const [k, bytes] of sizes.entries()) {
      if (bytes <= MAX_RESULT_BYTES) expect(outcomes[k]).toMatchObject({ status: 'fulfilled' });
      else expect(remoteCode(outcomes[k])).toBe('RESULT_TOO_LARGE');
    }
    await fleetStillServes();
  });
});

describe('bad limits', () => {
  const badNumber = fc.oneof(
    fc.integer({ max: 0 }),
    fc.double({ noNaN: true }).filter((x) => !Number.isInteger(x)),
    fc.constantFrom(
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      1e300,
      Number.MAX_VALUE,
    ),
  );
  const notANumber = fc.oneof(fc.string(), fc.constant(null), fc.boolean(), fc.object());
  const expectRefused = (call: () => unknown, limit: unknown): void => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(typeof limit === 'number' ? ArgumentRangeError : InvalidArgumentError);
    expect((error as { code: string }).code).toBe(
      typeof limit === 'number' ? 'ARGUMENT_RANGE' : 'INVALID_ARGUMENT',
    );
  };

  test('limits that are not positive integers are refused with ArgumentRangeError / InvalidArgumentError wherever they enter', async () => {
    const good = new FleetWorker({ connection: redisUrl(), queue: t.queue, localLimits: { cpu: 2 } });
    const semaphore = new DistributedSemaphore(redis, `limits-${t.queue}`, { limit: 3, prefix: PREFIX });
    try {
      await (await semaphore.acquire()).release(); // stores its limit, 3
      await fc.assert(
        fc.asyncProperty(fc.oneof(badNumber, notANumber), async (limit) => {
          const n = limit as number;
          const base = { connection: redisUrl(), queue: t.queue };
          expectRefused(() => new FleetWorker({ ...base, globalLimits: { api: n } }), limit);
          expectRefused(() => new FleetWorker({ ...base, localLimits: { cpu: n } }), limit);
          expectRefused(() => new FleetWorker({ ...base, concurrency: n }), limit);
          expectRefused(() => good.task(`t${Math.random()}`, () => 1, { local: { cpu: n } }), limit);
          expectRefused(() => t.producer.taskGroup({ maxConcurrency: n }), limit);
          expectRefused(() => new DistributedSemaphore(redis, 'never-made', { limit: n }), limit);
          const error = await semaphore.setLimit(n).catch((e: unknown) => e);
          expectRefused(() => {
            throw error;
          }, limit);
        }),
        { numRuns: 60 },
      );
      // Nothing applied: the fleet-wide limit is the one set first.
      expect((await semaphore.status()).limit).toBe(3);
    } finally {
      await semaphore.close();
      await good.close();
    }
    await fleetStillServes();
  });
});

describe('duplicate group ids', () => {
  test('a second group with an id in use gets DuplicateGroupError; the existing group is untouched and completes', async () => {
    const used = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_.-]{1,60}$/), async (id) => {
        fc.pre(!used.has(id));
        used.add(id);
        const first = t.producer.taskGroup({ id });
        first.createTask('echo', 'mine');
        await first.drain();
        const before = await first.status();

        const second = t.producer.taskGroup({ id, policy: 'all-settled' });
        const error = await second.ready().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateGroupError);
        expect(error).toMatchObject({ code: 'DUPLICATE_GROUP', groupId: id });
        expect(thrown(() => second.createTask('echo', 'theirs'))).toBe(error);

        const after = await first.status();
        expect(after).toMatchObject({
          epoch: before.epoch,
          policy: 'fail-fast',
          createdAt: before.createdAt,
        });
        first.createTask('echo', 'still mine');
        expect(await first.wait()).toEqual(['mine', 'still mine']);
      }),
      { numRuns: 8 },
    );
  });
});

describe('malformed messages on the cancel channel', () => {
  const notJson = fc.string({ unit: 'binary' }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  });

  test('each is logged and ignored by every worker; running tasks go on and a later real cancel still works', async () => {
    const channel = new QueueKeys(PREFIX, t.queue).cancelChannel;
    const tg = t.producer.taskGroup();
    tg.createTask('block', { tag: 'a' });
    tg.createTask('block', { tag: 'b' });
    await t.fleet.waitForCount(of(tg.id, 'started'), 2);

    const reason = fc.record({ kind: fc.constantFrom('user', 'task'), message: fc.string() });
    const malformed = fc.oneof(
      notJson,
      // JSON, but not an object
      fc
        .oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.jsonValue()))
        .map((v) => JSON.stringify(v)),
      // no group id, or not a string
      fc
        .record({ g: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.string())), r: reason })
        .map((v) => JSON.stringify(v)),
      // this very group, with a reason that is not one
      fc
        .oneof(
          fc.jsonValue().filter((r) => typeof r !== 'object' || r === null || !('kind' in r)),
          fc.record({ kind: fc.string().filter((k) => !CANCEL_KINDS.has(k)), message: fc.string() }),
          fc.record({ kind: fc.constant('user'), message: fc.integer() }),
        )
        .map((r) => JSON.stringify({ g: tg.id, r })),
      // this very group, a good reason, and a task index that is not one
      fc
        .oneof(
          fc.double().filter((i) => !Number.isInteger(i)),
          fc.string(),
          fc.constant(null),
        )
        .chain((i) => reason.map((r) => JSON.stringify({ g: tg.id, i, r }))),
    );

    const ignored = (e: { kind: string; message?: unknown }): boolean =>
      e.kind === 'log' && e.message === 'ignored a malformed message on the cancel channel';
    let published = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(malformed, { minLength: 1, maxLength: 10 }), async (messages) => {
        for (const message of messages) await redis.publish(channel, message);
        published += messages.length;
        // Every message reaches both workers, and each logs it.
        await t.fleet.waitForCount(ignored, 2 * published, 10_000);
      }),
      { numRuns: 20 },
    );

    expect(t.fleet.count(of(tg.id, 'aborted'))).toBe(0);
    expect((await tg.status()).counts).toMatchObject({ running: 2, cancelled: 0 });
    await tg.cancel('a real one');
    const aborted = await t.fleet.waitForCount(of(tg.id, 'aborted'), 2);
    expect(aborted.map((e) => e.reason)).toEqual(['a real one', 'a real one']);
    await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
    await fleetStillServes();
  });
});

describe('keys of the wrong type where taskfleet expects its own', () => {
  test('a group whose meta key was overwritten: KeyTypeError for that group only, at the producer and on the worker (logged)', async () => {
    const keys = new QueueKeys(PREFIX, t.queue);
    // The producer side: sending more tasks, and reading the status.
    const broken = t.producer.taskGroup();
    await broken.ready();
    await redis.set(keys.group(broken.id).meta, 'not a hash');
    broken.createTask('echo', 1);
    const error = await broken.drain().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyTypeError);
    expect(error).toMatchObject({ code: 'KEY_WRONG_TYPE' });
    await expect(broken.status()).rejects.toMatchObject({ code: 'KEY_WRONG_TYPE' });

    // The worker side: a queued task whose group's meta is overwritten before it starts.
    const queued = t.producer.taskGroup();
    // Delayed, so its meta is overwritten while it waits in BullMQ.
    queued.createTask('echo', 'never', { delayMs: 1500 });
    await queued.drain();
    await queued.close();
    await redis.set(keys.group(queued.id).meta, 'not a hash either');
    const healthy = t.producer.taskGroup();
    for (let i = 0; i < 4; i++) healthy.createTask('echo', i);
    const logged = await t.fleet.waitFor(
      (e) =>
        e.kind === 'log' &&
        e.level === 'error' &&
        e.message === `could not start task 0 of group ${queued.id}`,
    );
    expect(logged).toBeDefined();
    expect(await healthy.wait()).toEqual([0, 1, 2, 3]);
    await expect(t.producer.group(queued.id).wait()).rejects.toMatchObject({ code: 'KEY_WRONG_TYPE' });
    expect(t.fleet.count(of(queued.id, 'entered'))).toBe(0);
    // What the CLI and the dashboard list leaves the two broken groups out, and still lists the rest.
    const monitor = new FleetMonitor({ connection: redisUrl(), queue: t.queue, prefix: PREFIX });
    try {
      const listed = (await monitor.groups(1000)).map((g) => g.status.id);
      expect(listed).toContain(healthy.id);
      expect(listed).not.toContain(queued.id);
      expect(listed).not.toContain(broken.id);
      await expect(monitor.group(queued.id)).rejects.toMatchObject({ code: 'KEY_WRONG_TYPE' });
    } finally {
      await monitor.close();
    }
    await fleetStillServes();
  });

  test('a semaphore whose key was overwritten: KeyTypeError for that semaphore only; other semaphores and tasks go on', async () => {
    const prefix = PREFIX;
    const brokenName = `broken-${t.queue}`;
    const fine = new DistributedSemaphore(redis, `fine-${t.queue}`, { limit: 1, prefix });
    const broken = new DistributedSemaphore(redis, brokenName, { limit: 1, prefix });
    try {
      await (await broken.acquire()).release(); // exists, with its limit
      await redis.set(`${prefix}:sem:{${encodeURIComponent(brokenName)}}:meta`, 'not a hash');
      const error = await broken.acquire().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyTypeError);
      expect(error).toMatchObject({ code: 'KEY_WRONG_TYPE' });
      await expect(broken.status()).rejects.toMatchObject({ code: 'KEY_WRONG_TYPE' });
      const permit = await fine.acquire();
      expect(await permit.release()).toBe(true);
    } finally {
      await fine.close();
      await broken.close();
    }

    // In a worker: the task that needs it fails with that code; its siblings, on a sound semaphore, run.
    const tg = t.producer.taskGroup({ policy: 'all-settled' });
    tg.createTask('withPermit', { semaphore: brokenName, limit: 1, ms: 1 });
    tg.createTask('withPermit', { semaphore: `fine-${t.queue}`, limit: 1, ms: 1 });
    tg.createTask('echo', 'unrelated');
    const outcomes = await tg.wait();
    expect(remoteCode(outcomes[0])).toBe('KEY_WRONG_TYPE');
    expect(outcomes[1]).toMatchObject({ status: 'fulfilled' });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 'unrelated' });
    const monitor = new FleetMonitor({ connection: redisUrl(), queue: t.queue, prefix });
    try {
      const listed = (await monitor.semaphores()).map((s) => s.name);
      expect(listed).toContain(`fine-${t.queue}`);
      expect(listed).not.toContain(brokenName);
    } finally {
      await monitor.close();
    }
    await fleetStillServes();
  });
});

describe('names with characters that could break key building', () => {
  const awkward = fc.oneof(
    fc.string({ unit: fc.constantFrom(...'ab-_.{}: %/\\*?[]\n\t', 'é', '😀', '\u0000'), maxLength: 140 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('', '{', '}', '{}', 'a:b', 'a b', ' ', '%7B', 'x'.repeat(128), 'x'.repeat(129)),
    // lone surrogates: no UTF-8 for them, so no key either
    fc.constantFrom('\uD800', 'a\uDC00b', '😀'.slice(0, 1)),
  );

  test('group ids outside A-Z a-z 0-9 _ . - (1-128) are refused with InvalidArgumentError; the rest are accepted and keep their own hash tag', async () => {
    const accepted: TaskGroup[] = [];
    await fc.assert(
      fc.property(awkward, (id) => {
        let made: TaskGroup | undefined;
        const error = thrown(() => {
          made = t.producer.taskGroup({ id });
        });
        const handleError = thrown(() => t.producer.group(id));
        if (SAFE_ID.test(id)) {
          expect(error).toBeUndefined();
          expect(handleError).toBeUndefined();
          if (made !== undefined) accepted.push(made);
        } else {
          for (const e of [error, handleError]) {
            expect(e).toBeInstanceOf(InvalidArgumentError);
            expect(e).toMatchObject({ code: 'INVALID_ARGUMENT' });
          }
        }
      }),
      { numRuns: 300 },
    );
    // Close the groups made above (empty: they succeed at once; an id drawn twice was a duplicate).
    expect(accepted.length).toBeGreaterThan(0);
    await Promise.all(
      accepted.map((tg) => tg.close().catch((e: unknown) => expect(e).toBeInstanceOf(DuplicateGroupError))),
    );
    await fleetStillServes();
    let cursor = '0';
    const keys: string[] = [];
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}:${t.queue}:g:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key.startsWith(`${PREFIX}:${t.queue}:g:`)).toBe(true);
      expect(key.slice(PREFIX.length)).toMatch(
        /^:[^:]+:g:\{[A-Za-z0-9_.-]{1,128}\}:(meta|out|run|fails|cxl|adds)$/,
      );
    }
  });

  test('semaphore names of any characters each get their own keys and hash slot: two names never share a permit', async () => {
    const prefix = `names-${t.queue}`;
    await fc.assert(
      fc.asyncProperty(awkward, awkward, async (a, b) => {
        fc.pre(a !== b);
        const made: DistributedSemaphore[] = [];
        try {
          for (const name of [a, b]) {
            const error = thrown(() =>
              made.push(new DistributedSemaphore(redis, name, { limit: 1, prefix })),
            );
            const valid = name.length >= 1 && name.length <= 200 && name.isWellFormed();
            if (valid) expect(error).toBeUndefined();
            else expect(isTaskfleetError(error)).toBe(true);
          }
          // Limit 1 each: if two names shared keys, the second tryAcquire would find the permit taken.
          const permits = await Promise.all(made.map((s) => s.tryAcquire()));
          expect(permits.every((p) => p !== undefined)).toBe(true);
          for (const p of permits) await p?.release();
        } finally {
          await Promise.all(made.map((s) => s.close()));
        }
      }),
      { numRuns: 40 },
    );
    let cursor = '0';
    const tags = new Map<string, Set<string>>();
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:sem:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) {
        // prefix:sem:{<URI-encoded name>}:<part>: the tag holds no brace or colon, so it cannot move slots.
        const match = /^[^{}]+:sem:\{([^{}:]+)\}:(meta|holders|info|waiters)$/.exec(key);
        expect(match, key).not.toBeNull();
        const [, tag = '', part = ''] = match ?? [];
        expect(encodeURIComponent(decodeURIComponent(tag))).toBe(tag);
        if (!tags.has(tag)) tags.set(tag, new Set());
        tags.get(tag)?.add(part);
      }
    } while (cursor !== '0');
    expect(tags.size).toBeGreaterThan(0);
    const listed = await redis.smembers(`${prefix}:semaphores`);
    expect(new Set(listed.map((n) => encodeURIComponent(n)))).toEqual(new Set(tags.keys()));
  });
});

test('a group handle for an id that could break keys is refused before it reaches Redis', async () => {
  const tg = t.producer.taskGroup();
  tg.createTask('block');
  await t.fleet.waitFor(of(tg.id, 'started'));
  expect(thrown(() => t.producer.group(`{${tg.id}}`))).toBeInstanceOf(InvalidArgumentError);
  expect((await tg.status()).state).toBe('open');
  await tg.cancel();
  await expect(tg.wait()).rejects.toBeInstanceOf(GroupCancelledError);
});
