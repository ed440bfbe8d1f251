/**
 * A producer that keeps the fleet busy, for the docker-compose observability stack: every 2 s a group of
 * page fetches and rate-limited API calls, one in five with a failing task (and so cancelled siblings).
 * Runs until stopped (SIGTERM/SIGINT); REDIS_URL says where Redis is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startTelemetry } from '../../telemetry/index.ts';

const telemetry = await startTelemetry({ serviceName: 'taskfleet-producer' });
const { Producer } = await import('../../producer/index.ts');
const producer = new Producer({
  connection: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  queue: 'demo',
});
const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());

for (let round = 1; !stop.signal.aborted; round++) {
  const tg = producer.taskGroup({ name: `load ${round}`, maxConcurrency: 8 });
  for (let i = 0; i < 10; i++)
    tg.createTask('fetchPage', { url: `https://example.com/${round}/${i}`, ms: 100 + ((i * 97) % 700) });
  for (let i = 0; i < 5; i++) tg.createTask('callApi', { ms: 200 });
  if (round % 5 === 0) tg.createTask('flakyUpstream', { ms: 300 });
  void tg.wait().catch(() => undefined); // failures are the point here
  await sleep(2000, undefined, { signal: stop.signal }).catch(() => undefined);
}
await producer.close();
await telemetry.shutdown();
