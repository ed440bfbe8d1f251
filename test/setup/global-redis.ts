import type { TestProject } from 'vitest/node';
import { findRedisServer, startRedisServer } from '../../infra/redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Gives the suite a real Redis, in this order: REDIS_URL; a private `redis-server` from PATH (own
 * port, persistence off, stopped at the end); a Testcontainers Redis when a Docker engine answers.
 * Tests isolate themselves by queue name and key prefix, never by FLUSHALL, so files run in parallel.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    project.provide('redisUrl', fromEnv);
    return undefined;
  }
  if (findRedisServer() !== undefined) {
    const server = await startRedisServer();
    project.provide('redisUrl', server.url);
    return () => server.stop();
  }
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    project.provide('redisUrl', container.getConnectionUrl());
    return async () => {
      await container.stop();
    };
  } catch (error) {
    throw new Error(
      'The tests need a real Redis and found none. Either set REDIS_URL, or install redis-server ' +
        '(Debian/Ubuntu: apt-get install redis-server), or start a Docker engine for Testcontainers. ' +
        `(Testcontainers said: ${(error as Error).message})`,
    );
  }
}
