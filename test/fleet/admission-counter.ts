import type { Redis } from 'ioredis';

/**
 * An independent check on a fleet-wide limit, kept apart from the semaphore's own keys and tokens.
 * A handler calls `enter` once it holds its permit and `leave` before it gives it back; each is one
 * script, so the number of handlers inside is exact in Redis's own order of events (the order the
 * semaphore's grants and releases are made in). `peak` keeps the most ever inside at once, and every
 * moment above the limit is logged with who was inside.
 *
 * A killed process never calls `leave`: `bury(pid)` removes its entries. That is sound because its
 * handlers stopped when it died, while its permits outlive it until their lease runs out, so burying
 * right after the kill cannot hide an over-admission; burying late can only over-count.
 */
export interface AdmissionKeys {
  /** run id -> pid of the handlers inside now */
  readonly inside: string;
  readonly peak: string;
  /** JSON snapshots of every moment the count went above the limit */
  readonly over: string;
}

export const admissionKeys = (prefix: string): AdmissionKeys => ({
  inside: `${prefix}:inside`,
  peak: `${prefix}:peak`,
  over: `${prefix}:over`,
});

const ENTER = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return -1
end
local n = redis.call('HLEN', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], n)
end
if n > tonumber(ARGV[3]) then
  redis.call('RPUSH', KEYS[3], cjson.encode(redis.call('HGETALL', KEYS[1])))
end
return n`;

const BURY = `
local entries = redis.call('HGETALL', KEYS[1])
local buried = 0
for i = 1, #entries, 2 do
  if entries[i + 1] == ARGV[1] then
    redis.call('HDEL', KEYS[1], entries[i])
    buried = buried + 1
  end
end
local t = redis.call('TIME')
return { buried, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) }`;

/** Marks a handler inside; returns how many are inside now (-1 if this run id already was: a replay). */
export async function enter(
  redis: Redis,
  keys: AdmissionKeys,
  run: string,
  pid: number,
  limit: number,
): Promise<number> {
  return Number(await redis.eval(ENTER, 3, keys.inside, keys.peak, keys.over, run, String(pid), limit));
}

export async function leave(redis: Redis, keys: AdmissionKeys, run: string): Promise<void> {
  await redis.hdel(keys.inside, run);
}

/** Removes a dead process's entries; returns how many, and the Redis time (ms) of the burial. */
export async function bury(
  redis: Redis,
  keys: AdmissionKeys,
  pid: number,
): Promise<{ buried: number; at: number }> {
  const [buried, at] = (await redis.eval(BURY, 1, keys.inside, String(pid))) as [number, number];
  return { buried, at };
}

export interface AdmissionReport {
  readonly peak: number;
  readonly insideNow: number;
  readonly over: readonly string[];
}

export async function readAdmissions(redis: Redis, keys: AdmissionKeys): Promise<AdmissionReport> {
  const [peak, insideNow, over] = await Promise.all([
    redis.get(keys.peak),
    redis.hlen(keys.inside),
    redis.lrange(keys.over, 0, -1),
  ]);
  return { peak: Number(peak ?? 0), insideNow, over };
}
