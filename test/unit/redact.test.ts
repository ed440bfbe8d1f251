import { describe, expect, test, vi } from 'vitest';
import { z } from 'zod';
import { parseOptions } from '../../shared/options.ts';
import { describeConnection, redactText, redactUrl } from '../../shared/redact.ts';
import { resolveWorkerOptions } from '../../worker/options.ts';

describe('redactUrl', () => {
  test.each([
    ['redis://app:S3cr3t@10.0.0.1:6379/2', 'redis://app:***@10.0.0.1:6379/2'],
    ['rediss://app:S3c%2Fr3t@localhost:6380', 'rediss://app:***@localhost:6380'],
    ['redis://:S3cr3t@host', 'redis://:***@host'],
    ['redis://app:S3c@r3t@host:1', 'redis://app:***@host:1'], // a raw @ in the password: the last @ ends it
    ['app:S3cr3t@host:6379', 'app:***@host:6379'], // ioredis reads it without a scheme too
    ['redis://host:1?password=S3cr3t&db=1', 'redis://host:1?password=***&db=1'],
    ['rediss//app:S3cr3t@host', '***@host'], // a typo: nothing before the @ survives
    ['redis://S3cr3t@host', 'redis://***@host'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['/var/run/redis.sock', '/var/run/redis.sock'],
    ['redis+cluster://app:S3cr3t@a:7000,b:7001', 'redis+cluster://app:***@a:7000,b:7001'],
  ])('%s → %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

test('redactText masks the password of every URL in a text and leaves the rest', () => {
  expect(redactText('to redis://a:S3cr3t@h:1 then rediss://b:X@y failed')).toBe(
    'to redis://a:***@h:1 then rediss://b:***@y failed',
  );
  expect(redactText('no url here: a:b@c')).toBe('no url here: a:b@c');
});

test('describeConnection names ioredis options without their password', () => {
  expect(
    describeConnection({ host: 'localhost', port: 6380, username: 'app', password: 'S3cr3t', tls: {} }),
  ).toBe('rediss://app@localhost:6380');
  expect(describeConnection({ path: '/tmp/redis.sock', password: 'S3cr3t' })).toBe('/tmp/redis.sock');
});

test('an option error quoting a connection URL does not repeat its password', () => {
  const schema = z.object({ redis: z.string().regex(/^rediss?:\/\//) });
  expect(() => parseOptions(schema, { redis: 'rediss//app:S3cr3t@host' }, 'options')).toThrow(
    /^Invalid `redis`: .*got `\*\*\*@host`/,
  );
});

test("the worker's default logger shows a Redis error's stack, not its command's arguments", () => {
  // The shape of ioredis' ReplyError for a refused HELLO: the password is among the arguments.
  const error = Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), {
    command: { name: 'hello', args: ['3', 'AUTH', 'app', 'S3cr3t'] },
  });
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const { logger } = resolveWorkerOptions({ connection: 'redis://app:S3cr3t@h:1', queue: 'q' });
    logger.warn('BullMQ worker error', error);
    logger.warn('could not reach redis://app:S3cr3t@h:1');
    const printed = warn.mock.calls.flat().join('\n');
    expect(printed).toMatch(/WRONGPASS/);
    expect(printed).toMatch(/at /); // the stack is kept
    expect(printed).toContain('redis://app:***@h:1');
    expect(printed).not.toContain('S3cr3t');
  } finally {
    warn.mockRestore();
  }
});
