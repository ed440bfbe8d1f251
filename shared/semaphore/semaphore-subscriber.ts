import { connectionNameOf, duplicateRedis, type RedisClient } from '../connection.ts';
import { Subscriber } from '../subscriber.ts';

const subscribers = new WeakMap<RedisClient, Subscriber>();

/** Close a semaphore subscriber this long after its last waiter left. */
const IDLE_CLOSE_MS = 2000;

/**
 * One subscriber connection per command connection, for every semaphore used over it: a process with
 * many waiters on one semaphore has one subscription, not one per waiter.
 */
export function subscriberFor(redis: RedisClient): Subscriber {
  let subscriber = subscribers.get(redis);
  if (subscriber === undefined) {
    subscriber = new Subscriber(
      () =>
        duplicateRedis(redis, {
          name: `${connectionNameOf(redis) ?? 'taskfleet'}:sem-sub`,
          maxRetriesPerRequest: null,
        }),
      IDLE_CLOSE_MS,
    );
    subscribers.set(redis, subscriber);
  }
  return subscriber;
}
