import { describe, expect, it } from 'vitest';
import { Batcher } from '../../shared/batcher.ts';

/** A send() whose calls are recorded and answered by the test: each reply is the request doubled. */
function recordingSend() {
  const calls: { batch: number[]; answer: () => void; fail: (error: Error) => void }[] = [];
  const send = (batch: number[]): Promise<number[]> =>
    new Promise((resolve, reject) => {
      calls.push({ batch, answer: () => resolve(batch.map((n) => n * 2)), fail: reject });
    });
  return { calls, send };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const range = (from: number, count: number) => Array.from({ length: count }, (_v, k) => from + k);

describe('Batcher', () => {
  it('sends what is submitted in one moment as one call, and answers each request with its reply', async () => {
    const { calls, send } = recordingSend();
    const batcher = new Batcher(send);
    const replies = Promise.all(range(1, 20).map((n) => batcher.submit(n)));
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([range(1, 20)]);
    calls[0]?.answer();
    expect(await replies).toEqual(range(1, 20).map((n) => n * 2));
  });

  it('splits a large batch into calls of at least splitAt when a second call may go', async () => {
    const { calls, send } = recordingSend();
    const batcher = new Batcher(send, { splitAt: 8 });
    const replies = Promise.all(range(1, 21).map((n) => batcher.submit(n)));
    await settle();
    // In submission order: the calls reach Redis one after the other on one connection.
    expect(calls.map((c) => c.batch)).toEqual([range(1, 11), range(12, 10)]);
    calls[1]?.answer();
    calls[0]?.answer();
    expect(await replies).toEqual(range(1, 21).map((n) => n * 2));
  });

  it('does not split below twice splitAt, nor when only one call may go', async () => {
    const { calls, send } = recordingSend();
    const batcher = new Batcher(send, { splitAt: 8 });
    const first = Promise.all(range(1, 15).map((n) => batcher.submit(n)));
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([range(1, 15)]);
    // One call on its way: the next 20 go together as the one call still allowed.
    const second = Promise.all(range(100, 20).map((n) => batcher.submit(n)));
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([range(1, 15), range(100, 20)]);
    // Both on their way: more requests wait for a reply, then go at once.
    const third = Promise.all(range(200, 3).map((n) => batcher.submit(n)));
    await settle();
    expect(calls).toHaveLength(2);
    calls[0]?.answer();
    await first;
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([range(1, 15), range(100, 20), range(200, 3)]);
    calls[1]?.answer();
    calls[2]?.answer();
    expect(await second).toEqual(range(100, 20).map((n) => n * 2));
    expect(await third).toEqual([400, 402, 404]);
  });

  it('keeps maxBatch per call, and rejects only the requests of a call that failed', async () => {
    const { calls, send } = recordingSend();
    const batcher = new Batcher(send, { maxBatch: 5, splitAt: 2 });
    const replies = range(1, 12).map((n) => batcher.submit(n).catch((error: Error) => error.message));
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([range(1, 5), range(6, 5)]);
    calls[0]?.fail(new Error('lost'));
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([range(1, 5), range(6, 5), [11, 12]]);
    calls[1]?.answer();
    calls[2]?.answer();
    expect(await Promise.all(replies)).toEqual([
      ...range(1, 5).map(() => 'lost'),
      ...range(6, 7).map((n) => n * 2),
    ]);
  });
});
