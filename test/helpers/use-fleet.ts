import { afterAll, beforeAll } from 'vitest';
import { Producer } from '../../producer/index.ts';
import { Fleet, type FleetOptions } from '../fleet/fleet.ts';
import type { FleetEvent } from '../fleet/report.ts';
import { redisUrl, uniqueQueue } from './queues.ts';

export interface FleetUnderTest {
  readonly queue: string;
  readonly fleet: Fleet;
  readonly producer: Producer;
}

/**
 * For a describe block: worker processes on a queue of its own and a producer for it, started before
 * the block's tests and stopped after them (a test file never leaves a worker running).
 */
export function useFleet(label: string, options: Omit<FleetOptions, 'redisUrl' | 'queue'>): FleetUnderTest {
  const queue = uniqueQueue(label);
  let fleet: Fleet | undefined;
  let producer: Producer | undefined;
  beforeAll(async () => {
    fleet = await Fleet.start({ ...options, redisUrl: redisUrl(), queue });
    const prefix = options.options?.prefix;
    producer = new Producer({ connection: redisUrl(), queue, ...(prefix === undefined ? {} : { prefix }) });
  });
  afterAll(async () => {
    await producer?.close();
    await fleet?.stop();
  });
  return {
    queue,
    get fleet(): Fleet {
      if (fleet === undefined) throw new Error('the fleet starts in beforeAll');
      return fleet;
    },
    get producer(): Producer {
      if (producer === undefined) throw new Error('the producer starts in beforeAll');
      return producer;
    },
  };
}

/** Matches the events of one kind from one group's tasks. */
export const eventOf =
  (groupId: string, kind: string) =>
  (event: FleetEvent): boolean =>
    event.kind === kind && event.group === groupId;
