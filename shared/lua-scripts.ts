import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './connection.ts';
import { KeyTypeError } from './errors.ts';

/**
 * Loads a folder of Lua commands, BullMQ-style: one file per command named `<name>-<numKeys>.lua`,
 * with `--- @include "includes/<file>"` lines replaced by that file. Each command is registered once per
 * connection with ioredis `defineCommand`, which sends EVALSHA and falls back to EVAL on NOSCRIPT.
 */

export interface ScriptDefinition {
  /** The ioredis command name: `tf` + the file name in camelCase (`finish-and-start-5.lua` -> `tfFinishAndStart`). */
  readonly command: string;
  readonly numberOfKeys: number;
  readonly lua: string;
}

const INCLUDE = /^--- @include "([^"]+)"\s*$/gm;
const FILE = /^([a-z-]+)-(\d+)\.lua$/;

export function loadScripts(dir: string): ReadonlyMap<string, ScriptDefinition> {
  const scripts = new Map<string, ScriptDefinition>();
  for (const file of readdirSync(dir)) {
    const match = FILE.exec(file);
    if (match === null) continue;
    const [, base = '', keys = '0'] = match;
    const lua = resolveIncludes(dir, readFileSync(join(dir, file), 'utf8'), new Set());
    scripts.set(base, { command: commandName(base), numberOfKeys: Number(keys), lua });
  }
  return scripts;
}

function resolveIncludes(dir: string, source: string, seen: Set<string>): string {
  return source.replace(INCLUDE, (_line, path: string) => {
    if (seen.has(path)) return ''; // each include once per script
    seen.add(path);
    return resolveIncludes(dir, readFileSync(join(dir, `${path}.lua`), 'utf8'), seen);
  });
}

function commandName(base: string): string {
  return `tf${base.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase())}`;
}

type ScriptCaller = (...args: (string | number)[]) => Promise<unknown>;

/** A set of scripts bound to one connection. */
export class ScriptRunner {
  readonly #redis: RedisClient;
  readonly #scripts: ReadonlyMap<string, ScriptDefinition>;

  constructor(redis: RedisClient, scripts: ReadonlyMap<string, ScriptDefinition>) {
    this.#redis = redis;
    this.#scripts = scripts;
    const defined = redis as unknown as Record<string, unknown>;
    for (const script of scripts.values()) {
      if (typeof defined[script.command] !== 'function') {
        redis.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
      }
    }
  }

  /** A key of the wrong type (overwritten by someone else) rejects with KeyTypeError. */
  run(name: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.#caller(
      this.#redis,
      name,
      keys,
    )(...keys, ...args).catch((error: unknown) => {
      throw KeyTypeError.wrap(error, keys);
    });
  }

  /** Queues the script on a pipeline (ioredis adds defined commands to pipelines too). */
  queue(
    pipeline: ChainableCommander,
    name: string,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): void {
    void this.#caller(pipeline, name, keys)(...keys, ...args);
  }

  #caller(target: object, name: string, keys: readonly string[]): ScriptCaller {
    const script = this.#scripts.get(name);
    if (script === undefined) throw new Error(`No Lua script named ${name}`);
    if (keys.length !== script.numberOfKeys) {
      throw new Error(`Script ${name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    const fn = (target as Record<string, unknown>)[script.command];
    if (typeof fn !== 'function') throw new Error(`Script ${name} is not defined on this connection`);
    return (fn as ScriptCaller).bind(target);
  }
}
