/**
 * A string-keyed map for entries that come and go all the time, such as a semaphore's waiters and
 * permits.
 *
 * Why not a `Map`: V8 rebuilds a Map's hash table as entries are added and deleted, and the table it
 * leaves behind points to its successor (for iterators still walking the old one). A left-behind table
 * that has reached the old generation is dead, but only a full collection frees it; until then every
 * minor collection takes it as a root, and through it every later table and every entry they held —
 * each request's objects and whatever they close over. A long-lived Map with fifty entries coming and
 * going kept 10 MB alive through each minor collection where the live entries took 0.4 MB (scratch
 * loop, `node --trace-gc-nvp`). An object in dictionary mode (`Object.create(null)`) has no such
 * chain: a rebuilt dictionary is simply garbage. (Keys that are array indexes, "0" or "17", work too,
 * but an object keeps them in its elements rather than its dictionary: meant for ids like `a1b2:42`.)
 */
export class ChurnMap<V> {
  readonly #entries: Record<string, V> = Object.create(null) as Record<string, V>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#entries[key];
  }

  has(key: string): boolean {
    return key in this.#entries;
  }

  set(key: string, value: V): this {
    if (!(key in this.#entries)) this.#size++;
    this.#entries[key] = value;
    return this;
  }

  delete(key: string): boolean {
    if (!(key in this.#entries)) return false;
    delete this.#entries[key];
    this.#size--;
    return true;
  }

  keys(): string[] {
    return Object.keys(this.#entries);
  }

  values(): V[] {
    return Object.values(this.#entries);
  }
}
