/**
 * A third process that cancels a group: `node cancel-group.ts <redis-url> <queue> <group-id> <reason> [prefix]`.
 * Prints the group's state after the cancel.
 */
import { Producer } from '../../producer/index.ts';

const [url = '', queue = '', groupId = '', reason = 'cancelled', prefix] = process.argv.slice(2);
const producer = new Producer({ connection: url, queue, ...(prefix === undefined ? {} : { prefix }) });
try {
  console.log(await producer.group(groupId).cancel(reason));
} finally {
  await producer.close();
}
