import { Redis } from 'ioredis';

/**
 * Counts, by command name, what every ioredis client of this process sends (pipelined and MULTI
 * commands one by one; a script is one EVALSHA). Installed before any client exists, so BullMQ's
 * own connections are counted too. Redis's INFO commandstats also counts what scripts call; these
 * counts tell the two apart (see redis-cost.ts).
 */
export function countCommands(): Map<string, number> {
  const sent = new Map<string, number>();
  const proto = Redis.prototype as unknown as {
    sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown;
  };
  const send = proto.sendCommand;
  proto.sendCommand = function (this: unknown, command: { name: string }, ...rest: unknown[]) {
    const name = command.name.toLowerCase();
    sent.set(name, (sent.get(name) ?? 0) + 1);
    return send.call(this, command, ...rest);
  };
  return sent;
}
