import { InvalidArgumentError } from 'commander';

/**
 * Parsers for option and argument values. They throw commander's InvalidArgumentError, which commander
 * turns into one line naming the option: "option '--concurrency <n>' argument 'x' is invalid. expected
 * an integer from 1 and up". The values are checked again where they are used (zod, in the library).
 */

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('expected an integer from 1 and up');
  return n;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `2h`; a bare number is seconds. Returns milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000);
  if (!Number.isFinite(ms) || ms < 1)
    throw new InvalidArgumentError(
      'expected a duration such as 500ms, 30s, 5m or 2h (a bare number is seconds)',
    );
  return Math.round(ms);
}

/** `cpu=2`, repeatable: collects `{ cpu: 2, io: 4 }`. */
export function limitPair(
  value: string,
  previous: Readonly<Record<string, number>> = {},
): Record<string, number> {
  const at = value.lastIndexOf('=');
  const name = value.slice(0, at).trim();
  const count = value.slice(at + 1).trim();
  if (at <= 0 || name === '' || !/^\d+$/.test(count) || Number(count) < 1)
    throw new InvalidArgumentError('expected NAME=N, with N an integer from 1 and up (e.g. cpu=2)');
  return { ...previous, [name]: Number(count) };
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65_535)
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}
