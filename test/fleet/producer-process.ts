/**
 * A producer in a process of its own, for tests that kill it:
 * `node producer-process.ts <redis-url> <queue> <group-id> <json options> <task name> <count> [close]`.
 * Creates the group, sends the tasks, optionally closes the group, reports 'sent', then stays alive
 * (renewing its lease) until it is killed.
 */
import { Producer } from '../../producer/index.ts';

const [url = '', queue = '', id = '', options = '{}', task = 'block', count = '1', close = ''] =
  process.argv.slice(2);
const { leaseMs, ...groupOptions } = JSON.parse(options) as { leaseMs?: number; deadlineMs?: number };
const producer = new Producer({ connection: url, queue, ...(leaseMs === undefined ? {} : { leaseMs }) });
const tg = producer.taskGroup({ id, ...groupOptions });
for (let i = 0; i < Number(count); i++) tg.createTask(task, { tag: `from-${process.pid}` });
await tg.drain();
if (close === 'close') await tg.close();
process.send?.({ type: 'sent' });
setInterval(() => undefined, 60_000);
