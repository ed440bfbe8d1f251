import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Redis, RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RedisServer, startRedisServer } from '../../infra/redis-server.ts';
import { Producer } from '../../producer/index.ts';
import { createRedis } from '../../shared/connection.ts';
import { DistributedSemaphore, GroupFailedError } from '../../shared/index.ts';
import { FleetWorker } from '../../worker/index.ts';
import { Fleet } from '../fleet/fleet.ts';
import { makeCertificates, type TestCertificates } from '../helpers/certificates.ts';
import { CliProcess, type CliResult, runCli } from '../helpers/cli.ts';
import { OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { uniqueQueue } from '../helpers/queues.ts';
import { eventOf as of } from '../helpers/use-fleet.ts';

/**
 * Every connection taskfleet opens — producer, worker (BullMQ's blocking connection, the cancel
 * subscriber, heartbeats, semaphores and their subscriber), the CLI, telemetry — against a redis-server
 * that only knows an ACL user, then one that also speaks only TLS with a certificate from a CA made
 * here. Mistakes fail at once with typed errors, and the password shows up nowhere.
 */
const TASKS = new URL('../fleet/secure-tasks.ts', import.meta.url);
const USER = 'fleet';

// The test process is the producer: its spans are collected in memory by the real SDK.
const spans = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
});

describe.each([
  { mode: 'an ACL user', tls: false },
  { mode: 'an ACL user over TLS', tls: true },
])('Redis with $mode', ({ tls }) => {
  const queue = uniqueQueue(tls ? 'tls' : 'acl');
  const password = `S3cr3t-${randomUUID()}`;
  const wrongPassword = `Wr0ng-${randomUUID()}`;
  /** Every text a user or an operator could see: the password must be in none of them. */
  const seen: string[] = [];
  /** This process's console (the producer's, an in-process worker's, BullMQ's): the same. */
  const consoleOut: string[] = [];
  let restoreConsole = (): void => undefined;
  const started: CliProcess[] = [];
  let certs: TestCertificates | undefined;
  let server: RedisServer;
  let receiver: OtlpReceiver;
  let fleet: Fleet | undefined;
  let producer: Producer | undefined;
  let admin: Redis;
  /** How a process in this test connects: the URL, and for TLS the CA in the options. */
  let connection: string | RedisOptions;
  /** What child processes need besides the URL: the CA, by NODE_EXTRA_CA_CERTS. */
  let caEnv: Record<string, string>;

  const withPassword = (url: string, secret: string): string =>
    url.replace(`:${encodeURIComponent(password)}@`, `:${encodeURIComponent(secret)}@`);
  const cli = async (args: readonly string[], env: Record<string, string>): Promise<CliResult> => {
    const result = await runCli(args, { env });
    seen.push(result.stdout, result.stderr);
    return result;
  };

  beforeAll(async () => {
    restoreConsole = recordConsole(consoleOut);
    certs = tls ? await makeCertificates() : undefined;
    server = await startRedisServer({
      user: { name: USER, password },
      ...(certs === undefined ? {} : { tls: certs }),
    });
    caEnv = certs === undefined ? {} : { NODE_EXTRA_CA_CERTS: certs.caFile };
    connection =
      certs === undefined
        ? server.url
        : { host: 'localhost', port: server.port, username: USER, password, tls: { ca: certs.ca } };
    receiver = await OtlpReceiver.start();
    // Not a cluster: a plain Redis client.
    admin = createRedis(connection, { name: 'test-admin' }) as Redis;
    fleet = await Fleet.start({
      redisUrl: server.url,
      queue,
      workers: 2,
      tasksModule: TASKS.href,
      // A task waiting for a permit keeps its slot, so where tasks land is known (see the first test).
      options: { concurrency: 2, maxParked: 0 },
      env: { ...receiver.env, ...caEnv },
      telemetry: true,
      captureOutput: true,
    });
    producer = new Producer({ connection, queue });
  });

  afterAll(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
    await producer?.close();
    await fleet?.stop();
    admin?.disconnect();
    await server?.stop();
    await receiver?.close();
    await certs?.remove();
    restoreConsole();
  });

  test('a group holding a fleet-wide limit fails fast across worker processes; every connection is the ACL user', async () => {
    if (producer === undefined || fleet === undefined) throw new Error('beforeAll failed');
    const semaphore = `api-${queue}`;
    const tg = producer.taskGroup();
    // Limit 1: one task holds the permit, two wait for it. 2 workers × 2 slots and waiting tasks keep
    // their slot: one worker runs two of them, the other one and has the last free slot.
    for (let i = 0; i < 3; i++) tg.createTask('holdLimit', { semaphore, limit: 1 });
    const waiting = await fleet.waitForCount(of(tg.id, 'waiting'), 3);
    await fleet.waitFor(of(tg.id, 'holding'));
    expect(new Set(waiting.map((e) => e.pid)).size).toBe(2);
    const status = () => new DistributedSemaphore(admin, semaphore).status();
    await expect.poll(async () => (await status()).waiters.length).toBe(2);
    expect((await status()).used).toBe(1);

    const clients = parseClientList(String(await admin.call('CLIENT', 'LIST')));
    const names = clients.map((c) => c.name);
    for (const role of ['producer', 'worker', 'worker:sub', 'worker:sem-sub'])
      expect(names).toContain(`taskfleet:${queue}:${role}`);
    // BullMQ's own connections (the worker's blocking one) carry the queue name too.
    expect(names.filter((n) => n.includes(queue)).length).toBeGreaterThanOrEqual(7);
    expect(clients.filter((c) => c.user !== USER)).toEqual([]);

    const failing = tg.createTask('fail');
    const error = await tg.wait().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GroupFailedError);
    expect((error as GroupFailedError).errors.map((e) => (e as Error).message)).toEqual([
      expect.stringContaining('boom'),
    ]);
    expect((error as GroupFailedError).cancelled).toBe(3);
    const aborted = await fleet.waitForCount(of(tg.id, 'aborted'), 3);
    for (const e of aborted) expect(e).toMatchObject({ cancelKind: 'failure', byIndex: failing.index });
    expect(aborted.map((e) => e.phase).sort()).toEqual(['holding', 'waiting', 'waiting']);
    const failedOn = (await fleet.waitFor(of(tg.id, 'failing'))).pid;
    expect(aborted.some((e) => e.pid !== failedOn)).toBe(true); // the cancellation crossed processes
    await expect.poll(async () => (await status()).used).toBe(0);
    expect((await status()).waiters).toEqual([]);
  });

  test('the CLI and the dashboard work over the same connection; the telemetry of a CLI worker hides its --redis password', async () => {
    if (producer === undefined) throw new Error('beforeAll failed');
    const env = { ...caEnv };
    const tg = producer.taskGroup();
    tg.createTask('echo', 'hello');
    expect(await tg.wait()).toEqual(['hello']);

    const status = await cli(['status', tg.id, '--json', '--redis', server.url, '--queue', queue], env);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(status.stdout)).toMatchObject({ id: tg.id, state: 'succeeded' });
    const workers = await cli(['workers', '--json', '--queue', queue], { ...env, REDIS_URL: server.url });
    expect(workers.code).toBe(0);
    expect(JSON.parse(workers.stdout)).toHaveLength(2);

    // The dashboard: its own connections (the monitor, bull-board's queue) serve pages and the API.
    const dashboard = new CliProcess(['dashboard', '--port', '0', '--json', '--queue', queue], {
      ...env,
      REDIS_URL: server.url,
    });
    started.push(dashboard);
    const { url } = (await dashboard.event('listening')) as { url: string };
    const groups = (await (await fetch(`${url}/api/groups`)).json()) as { status: { id: string } }[];
    expect(groups.map((g) => g.status.id)).toContain(tg.id);
    const pages = await Promise.all(
      ['/', `/groups/${tg.id}`, '/api/workers', '/queues/api/redis/stats'].map(async (path) => {
        const response = await fetch(`${url}${path}`);
        expect(response.status, path).toBe(200);
        return response.text();
      }),
    );
    seen.push(...pages);
    expect(await dashboard.stop('SIGTERM')).toBe(0);
    seen.push(...dashboard.lines, ...dashboard.errors);

    // A CLI worker with telemetry on a queue of its own: its spans carry its command line.
    const ownQueue = `${queue}-cli`;
    const worker = new CliProcess(
      [
        ...['worker', '--tasks', fileURLToPath(TASKS), '--telemetry', '--json'],
        '--redis',
        server.url,
        '--queue',
        ownQueue,
      ],
      { ...env, ...receiver.env },
    );
    started.push(worker);
    await worker.event('ready');
    const other = new Producer({ connection, queue: ownQueue });
    try {
      const group = other.taskGroup();
      group.createTask('echo', 1);
      expect(await group.wait()).toEqual([1]);
    } finally {
      await other.close();
    }
    expect(await worker.stop('SIGTERM')).toBe(0); // flushes its spans
    seen.push(...worker.lines, ...worker.errors);
    await expect
      .poll(() =>
        receiver.bodies.some((b) => b.includes('process.command_args') && b.includes(`${USER}:***@`)),
      )
      .toBe(true);
  });

  test('a wrong or missing password is REDIS_AUTH_FAILED at once, for a producer, a worker and the CLI', async () => {
    const wrong =
      typeof connection === 'string'
        ? withPassword(connection, wrongPassword)
        : { ...connection, password: wrongPassword };
    const anonymous =
      typeof connection === 'string' ? connection.replace(/\/\/[^@]*@/, '//') : anonymousOf(connection);
    for (const input of [wrong, anonymous]) {
      const start = performance.now();
      const producer = new Producer({ connection: input, queue });
      const worker = new FleetWorker({ connection: input, queue });
      try {
        const errors = await Promise.all([
          producer.ready().then(
            () => undefined,
            (e: unknown) => e,
          ),
          worker.ready().then(
            () => undefined,
            (e: unknown) => e,
          ),
        ]);
        for (const error of errors) {
          expect(error).toMatchObject({ code: 'REDIS_AUTH_FAILED', name: 'RedisAuthError' });
          expect((error as Error).message).toMatch(/refused the credentials: (WRONGPASS|NOAUTH)/);
          seen.push(inspect(error), JSON.stringify(error));
        }
        expect(performance.now() - start).toBeLessThan(5000); // at once: no retrying
      } finally {
        await producer.close();
        await worker.close();
      }
    }
    const result = await cli(['status', 'g', '--queue', queue], {
      ...caEnv,
      REDIS_URL: withPassword(server.url, wrongPassword),
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      new RegExp(`^taskfleet: Redis at \\S*//${USER}:\\*\\*\\*@\\S+ refused the credentials: WRONGPASS`),
    );
    // A typo in the URL is a usage error that does not repeat the password either.
    const typo = await cli(['status', 'g', '--redis', server.url.replace('://', '//')], caEnv);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/Invalid `redis`/);
  });

  test.runIf(tls)(
    'without the CA, TLS is refused with a certificate error (REDIS_TLS_FAILED), not a hang',
    async () => {
      // The URL alone: this process has no NODE_EXTRA_CA_CERTS, so nothing vouches for the certificate.
      const producer = new Producer({ connection: server.url, queue });
      const start = performance.now();
      try {
        const error = await producer.ready().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({ code: 'REDIS_TLS_FAILED', name: 'RedisTlsError' });
        expect((error as Error).message).toMatch(/certificate/);
        expect(performance.now() - start).toBeLessThan(5000);
        seen.push(inspect(error));
      } finally {
        await producer.close();
      }
      const result = await cli(['status', 'g', '--queue', queue, '--redis', server.url], {});
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(
        /^taskfleet: TLS connection to Redis at rediss:\/\/fleet:\*\*\*@localhost:\d+ failed: .*certificate/,
      );
    },
  );

  test('the password is nowhere: output, errors, spans and their resources, heartbeats and data in Redis', async () => {
    if (fleet === undefined) throw new Error('beforeAll failed');
    const stored = await dumpRedis(admin);
    expect(stored).toMatch(/intervalMs/); // the heartbeats are in it
    await fleet.stop(); // flushes the workers' spans
    await expect.poll(() => receiver.bodies.some((b) => b.includes('"process holdLimit"'))).toBe(true);
    const producerSpans = spans.getFinishedSpans().map((s) =>
      JSON.stringify({
        name: s.name,
        attributes: s.attributes,
        events: s.events,
        resource: s.resource.attributes,
      }),
    );
    expect(producerSpans.length).toBeGreaterThan(0);
    const texts: Record<string, string> = {
      'worker processes (stdout, stderr, logs)': fleet.output.join('') + JSON.stringify(fleet.events),
      'CLI output and error messages': seen.join('\n'),
      'spans of the producer': producerSpans.join('\n'),
      'spans and metrics the workers exported': receiver.bodies.join('\n'),
      'keys and values in Redis': stored,
      "this process's console": consoleOut.join('\n'),
    };
    expect(texts['CLI output and error messages']).toContain(`${USER}:***@`); // redacted, not omitted
    for (const [where, text] of Object.entries(texts)) {
      expect(text.includes(password), where).toBe(false);
      expect(text.includes(encodeURIComponent(password)), where).toBe(false);
      expect(text.includes(wrongPassword), where).toBe(false);
    }
  });
});

/** Records what is written with console.* (and still writes it); returns the undo. */
function recordConsole(into: string[]): () => void {
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = methods.map((method) => console[method]);
  methods.forEach((method, k) => {
    console[method] = (...args: unknown[]) => {
      into.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 6 }))).join(' '));
      originals[k]?.apply(console, args);
    };
  });
  return () =>
    methods.forEach((method, k) => {
      console[method] = originals[k] ?? console[method];
    });
}

function anonymousOf(options: RedisOptions): RedisOptions {
  const { username: _username, password: _password, ...rest } = options;
  return rest;
}

function parseClientList(text: string): { name: string; user: string }[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const fields = new Map(line.split(' ').map((kv) => kv.split('=', 2) as [string, string]));
      return { name: fields.get('name') ?? '', user: fields.get('user') ?? '' };
    });
}

/** Every key with its value, whatever its type. */
async function dumpRedis(redis: Redis): Promise<string> {
  const out: string[] = [];
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key);
    const value =
      type === 'string'
        ? await redis.get(key)
        : type === 'hash'
          ? await redis.hgetall(key)
          : type === 'list'
            ? await redis.lrange(key, '0', '-1')
            : type === 'set'
              ? await redis.smembers(key)
              : type === 'zset'
                ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
                : type === 'stream'
                  ? await redis.xrange(key, '-', '+')
                  : type;
    out.push(`${key} ${JSON.stringify(value)}`);
  }
  return out.join('\n');
}
