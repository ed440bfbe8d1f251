import { z } from 'zod';
import { clusterPrefixProblem, isClusterUrl, parseClusterUrl } from './cluster-connection.ts';
import { type ConnectionInput, clusterOf } from './connection.ts';
import { ArgumentRangeError, InvalidArgumentError } from './errors.ts';
import { isSafeId } from './keys.ts';
import { redactText, redactUrl } from './redact.ts';

/**
 * Options are validated once, where they enter (constructors, createTask, acquire), with zod.
 * Messages name the option and the bad value: "Invalid `concurrency`: expected an integer from 1 and up,
 * got `0` (number)".
 */

const RANGE_CODES: ReadonlySet<string> = new Set(['too_small', 'too_big', 'not_multiple_of']);

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, label: string): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new InvalidArgumentError(`Invalid ${label}`);
  const path = issue.path.length === 0 ? label : issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    throw new InvalidArgumentError(
      `Unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')} in ${label}`,
    );
  }
  const got = 'input' in issue ? `, got ${describe(secretFree(path, issue.input))}` : '';
  const message = `Invalid \`${path}\`: ${issue.message}${got}`;
  // A number of the right type but the wrong size is a RangeError (NaN and ±Infinity included, which
  // zod reports as not numbers); everything else a TypeError.
  const isRange =
    RANGE_CODES.has(issue.code) ||
    (issue.code === 'invalid_type' &&
      (issue.expected === 'int' || issue.expected === 'number') &&
      typeof issue.input === 'number');
  throw isRange ? new ArgumentRangeError(message) : new InvalidArgumentError(message);
}

/** A connection option's value is shown without anything that may be a password. */
function secretFree(path: string, value: unknown): unknown {
  return typeof value === 'string' && /(^|\.)(connection|redis|url)$/i.test(path) ? redactUrl(value) : value;
}

export function describe(value: unknown): string {
  if (value === '') return 'an empty string';
  // A value may be a connection URL: never repeat its password.
  if (typeof value === 'string') return `\`${JSON.stringify(redactText(value)).slice(1, -1)}\` (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `\`${String(value)}\` (${typeof value})`;
  if (value === null) return '`null`';
  if (value === undefined) return '`undefined`';
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

export const positiveInt = () =>
  z
    .int({ error: 'expected an integer from 1 and up' })
    .min(1, { error: 'expected an integer from 1 and up' });

export const nonNegativeInt = () =>
  z
    .int({ error: 'expected an integer from 0 and up' })
    .min(0, { error: 'expected an integer from 0 and up' });

/** Node's timers wait at most 2^31 - 1 ms (about 24.8 days): a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const TIMER_RANGE = '(ms; about 24.8 days, the longest a timer waits)';

/** A duration in milliseconds that a timer waits for (leases, deadlines, intervals, timeouts). */
export const durationMs = () =>
  positiveInt().max(MAX_TIMER_MS, { error: `expected an integer from 1 to ${MAX_TIMER_MS} ${TIMER_RANGE}` });

/** Like durationMs, 0 allowed (no wait). */
export const waitMs = () =>
  nonNegativeInt().max(MAX_TIMER_MS, {
    error: `expected an integer from 0 to ${MAX_TIMER_MS} ${TIMER_RANGE}`,
  });

/** How long Redis keeps something (a key's TTL, never a timer here): any positive integer of ms. */
export const retentionMs = () => positiveInt();

export const safeId = (what: string) =>
  z.string({ error: `expected a ${what}: 1-128 characters of A-Z a-z 0-9 _ . -` }).refine(isSafeId, {
    error: `expected a ${what}: 1-128 characters of A-Z a-z 0-9 _ . -`,
  });

/** The Redis key prefix: it may carry a `{hash tag}` for Redis Cluster. */
export const keyPrefix = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9_.:{}-]{1,64}$/, { error: 'expected 1-64 characters of A-Z a-z 0-9 _ . : { } -' });

/** A name of a task or a limit: any non-empty string up to 200 characters (it never becomes a key). */
export const name = (what: string) =>
  z
    .string({ error: `expected a ${what} (a string)` })
    .min(1, { error: `expected a non-empty ${what}` })
    .max(200, { error: `expected a ${what} of at most 200 characters` });

/**
 * A name that becomes part of a Redis key (URI-encoded): a `name` that is also well-formed Unicode, since
 * a lone surrogate cannot be encoded.
 */
export const keyName = (what: string) =>
  name(what).refine((value) => value.isWellFormed(), {
    error: `expected a ${what} of well-formed Unicode (no lone surrogates)`,
  });

/**
 * Connection: a redis:// or rediss:// URL, a unix socket path, ioredis options (which ioredis checks),
 * or a cluster: `{ cluster: nodes, options? }` or a `redis+cluster://host:port,host:port` URL.
 */
export const connection = () =>
  z.custom<ConnectionInput>(
    (value) =>
      typeof value === 'string'
        ? value.length > 0 && (!isClusterUrl(value) || parseClusterUrl(value) !== undefined)
        : typeof value === 'object' && value !== null,
    {
      error:
        'expected a Redis URL, a socket path, ioredis options, `{ cluster: [nodes] }` or a redis+cluster://host:port,host:port URL',
    },
  );

/**
 * On a Redis Cluster every key of a queue must share one hash slot, so the prefix needs a hash tag:
 * refused here, at once, rather than by BullMQ with CROSSSLOT on its first command.
 */
export function checkClusterPrefix<
  O extends { readonly connection: ConnectionInput; readonly prefix: string },
>(options: O): O {
  if (clusterOf(options.connection) === undefined) return options;
  const problem = clusterPrefixProblem(options.prefix);
  if (problem !== undefined)
    throw new InvalidArgumentError(`Invalid \`prefix\`: ${problem}, got ${describe(options.prefix)}`);
  return options;
}

/** A map of names to positive integers: `{ cpu: 2 }`. */
export const limitMap = (what: string) => z.record(name(`${what} name`), positiveInt());
