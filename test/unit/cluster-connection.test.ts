import { describe, expect, test } from 'vitest';
import { Producer } from '../../producer/index.ts';
import { clusterPrefixProblem, parseClusterUrl } from '../../shared/cluster-connection.ts';
import { InvalidArgumentError } from '../../shared/index.ts';
import { semaphoreIndex, semaphoreKeys } from '../../shared/keys.ts';
import { checkClusterPrefix } from '../../shared/options.ts';
import { FleetWorker } from '../../worker/index.ts';

describe('redis+cluster:// URLs', () => {
  test('name the startup nodes, and credentials for every node', () => {
    expect(parseClusterUrl('redis+cluster://127.0.0.1:7000,10.0.0.2:7001')).toEqual({
      cluster: [
        { host: '127.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
    });
    expect(parseClusterUrl('redis+cluster://app:s%40cret@h1:7000/')).toEqual({
      cluster: [{ host: 'h1', port: 7000 }],
      options: { redisOptions: { username: 'app', password: 's@cret' } },
    });
  });

  test.each([
    'redis+cluster://',
    'redis+cluster://h1',
    'redis+cluster://h1:0',
    'redis+cluster://h1:7000,',
    'redis+cluster://h1:99999',
    'redis+cluster://u:%E0%A4%A@h1:7000',
  ])('%s is refused', (url) => {
    expect(parseClusterUrl(url)).toBeUndefined();
    expect(() => new Producer({ connection: url, queue: 'q', prefix: '{tf}' })).toThrow(InvalidArgumentError);
  });
});

describe('the prefix on a cluster', () => {
  test('needs a non-empty hash tag of its own', () => {
    for (const ok of ['{taskfleet}', 'app:{q1}', '{a}{b}']) expect(clusterPrefixProblem(ok)).toBeUndefined();
    for (const bad of ['taskfleet', '{}taskfleet', '{taskfleet', 'task}fleet{', '}{'])
      expect(clusterPrefixProblem(bad)).toMatch(/hash tag/);
  });

  test('Producer and FleetWorker refuse one without, naming the option, before connecting', () => {
    const connections = [{ cluster: [{ host: '127.0.0.1', port: 1 }] }, 'redis+cluster://127.0.0.1:1'];
    for (const connection of connections) {
      const producer = () => new Producer({ connection, queue: 'q' });
      expect(producer).toThrow(InvalidArgumentError);
      expect(producer).toThrow(/Invalid `prefix`: on a Redis Cluster .* `\{taskfleet\}`.*, got `taskfleet`/);
      try {
        new FleetWorker({ connection, queue: 'q', prefix: 'app' });
        expect.unreachable();
      } catch (error) {
        expect(error).toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringMatching(/`\{app\}`/),
        });
      }
    }
    // A single Redis takes any prefix, as before.
    const single = { connection: 'redis://127.0.0.1:1', prefix: 'taskfleet' };
    expect(checkClusterPrefix(single)).toBe(single);
  });
});

describe('semaphore keys', () => {
  test('hash by the semaphore name, never by the prefix’s tag', () => {
    const keys = semaphoreKeys('{app}', 'api.example');
    expect(keys.list).toEqual([
      'app:sem:{api.example}:meta',
      'app:sem:{api.example}:holders',
      'app:sem:{api.example}:info',
      'app:sem:{api.example}:waiters',
    ]);
    expect(keys.wake).toBe('app:sem:{api.example}:wake');
    expect(semaphoreIndex('{app}')).toBe('app:semaphores');
    // Without a tag in the prefix nothing changes.
    expect(semaphoreKeys('taskfleet', 'x').meta).toBe('taskfleet:sem:{x}:meta');
  });
});
