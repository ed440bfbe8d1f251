import { Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closeRedis, createRedis, type RedisClient } from '../../shared/connection.ts';
import { redisUrl, uniqueQueue } from '../helpers/queues.ts';

/**
 * taskfleet's connections empty a pipeline once its replies are in, so that ioredis' per-pipeline
 * hidden class (see shared/pipeline-release.ts) holds an empty shell, not a batch of commands, until
 * V8's next full collection. The replies themselves must be exactly ioredis'.
 */
let ours: RedisClient;
let plain: Redis;
const key = (name: string) => `${uniqueQueue('pipeline-release')}:${name}`;

beforeAll(() => {
  ours = createRedis(redisUrl(), { name: 'taskfleet:test:pipeline-release' });
  plain = new Redis(redisUrl());
});

afterAll(async () => {
  await closeRedis(ours);
  await plain.quit();
});

describe('pipelines of a taskfleet connection', () => {
  test('answer as ioredis does, then hold none of their commands (ioredis alone keeps them all)', async () => {
    for (const [client, keepsCommands] of [
      [plain, true],
      [ours, false],
    ] as const) {
      const k = key(keepsCommands ? 'plain' : 'ours');
      const pipeline = client.pipeline().set(k, 'v').get(k).incr(k);
      expect(pipeline.length).toBe(3);
      const replies = await pipeline.exec();
      expect(replies?.slice(0, 2)).toEqual([
        [null, 'OK'],
        [null, 'v'],
      ]);
      expect(replies?.[2]?.[0]).toBeInstanceOf(ReplyError);
      expect(pipeline.length).toBe(keepsCommands ? 3 : 0);
    }
  });

  test('transactions (multi) too, and a transaction Redis refuses is rejected as before and left as it was', async () => {
    const k = key('multi');
    const transaction = ours.multi().set(k, '1').incrby(k, 41).get(k);
    expect(await transaction.exec()).toEqual([
      [null, 'OK'],
      [null, 42],
      [null, '42'],
    ]);
    expect(transaction.length).toBe(0);

    // A command Redis rejects while queueing (wrong arity) aborts the whole transaction: EXECABORT.
    const [refused, refusedPlain] = [ours, plain].map((client) =>
      client.multi().set(k, '7').call('get', k, 'extra'),
    );
    await expect(refused?.exec()).rejects.toThrow(/EXECABORT/);
    await expect(refusedPlain?.exec()).rejects.toThrow(/EXECABORT/);
    expect(refused?.length).toBeGreaterThan(0);
    expect(refused?.length).toBe(refusedPlain?.length);
    expect(await ours.get(k)).toBe('42');
  });

  test('multi({ pipeline: false }) still sends MULTI at once and returns its reply', async () => {
    const k = key('bare-multi');
    const connection = createRedis(redisUrl(), { name: 'taskfleet:test:pipeline-release:bare' });
    try {
      expect(await connection.multi({ pipeline: false })).toBe('OK');
      expect(await connection.set(k, 'x')).toBe('QUEUED');
      expect(await connection.exec()).toEqual([[null, 'OK']]);
      expect(await connection.get(k)).toBe('x');
    } finally {
      await closeRedis(connection);
    }
  });
});
