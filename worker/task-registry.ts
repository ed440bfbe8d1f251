import { z } from 'zod';
import { ArgumentRangeError, InvalidArgumentError } from '../shared/errors.ts';
import { limitMap, name, parseOptions } from '../shared/options.ts';
import type { TaskHandler } from './task-context.ts';

export interface TaskDefinitionOptions {
  /** Permits of this worker's local limits held while the handler runs: `{ cpu: 1 }`. */
  readonly local?: Readonly<Record<string, number>>;
  /** Permits of fleet-wide limits (declared in the worker's `globalLimits`) held while it runs: `{ 'api.example': 1 }`. */
  readonly limits?: Readonly<Record<string, number>>;
}

export interface TaskDefinition {
  readonly name: string;
  readonly handler: TaskHandler;
  /** Local permits, sorted by limit name: always taken in the same order, so two tasks cannot deadlock. */
  readonly local: readonly (readonly [string, number])[];
  /** Global permits, sorted the same way. */
  readonly limits: readonly (readonly [string, number])[];
}

const definitionSchema = z.strictObject({
  local: limitMap('local limit').optional(),
  limits: limitMap('global limit').optional(),
});

/** The task handlers of one worker, by name. */
export class TaskRegistry {
  readonly #tasks = new Map<string, TaskDefinition>();
  readonly #localLimits: Readonly<Record<string, number>>;
  readonly #globalLimits: Readonly<Record<string, number>>;

  constructor(localLimits: Readonly<Record<string, number>>, globalLimits: Readonly<Record<string, number>>) {
    this.#localLimits = localLimits;
    this.#globalLimits = globalLimits;
  }

  add(taskName: string, handler: TaskHandler, options: TaskDefinitionOptions = {}): void {
    const checked = parseOptions(name('task name'), taskName, 'task name');
    if (typeof handler !== 'function')
      throw new InvalidArgumentError(`Invalid handler for task \`${checked}\`: expected a function`);
    if (this.#tasks.has(checked)) throw new InvalidArgumentError(`Task \`${checked}\` is already registered`);
    const o = parseOptions(definitionSchema, options, `options of task \`${checked}\``);
    const local = requested(checked, o.local, this.#localLimits, 'local limit', 'localLimits');
    const limits = requested(checked, o.limits, this.#globalLimits, 'global limit', 'globalLimits');
    this.#tasks.set(checked, { name: checked, handler, local, limits });
  }

  get(taskName: string): TaskDefinition | undefined {
    return this.#tasks.get(taskName);
  }

  names(): string[] {
    return [...this.#tasks.keys()];
  }
}

/** The permits a task asks for, checked against what the worker declares, in a stable (sorted) order. */
function requested(
  task: string,
  asked: Readonly<Record<string, number>> | undefined,
  declared: Readonly<Record<string, number>>,
  what: string,
  option: string,
): [string, number][] {
  const entries = Object.entries(asked ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [limit, permits] of entries) {
    const size = declared[limit];
    if (size === undefined) {
      throw new InvalidArgumentError(
        `Task \`${task}\` asks for ${what} \`${limit}\`, which this worker does not have (${option}: ${Object.keys(declared).join(', ') || 'none'})`,
      );
    }
    if (permits > size) {
      throw new ArgumentRangeError(
        `Task \`${task}\` asks for ${permits} permits of \`${limit}\`, whose limit is ${size}`,
      );
    }
  }
  return entries;
}
