/** A bounded map that forgets the least recently used entry first (a Map keeps insertion order). */
export class Lru<K, V> {
  readonly #map = new Map<K, V>();
  constructor(
    readonly capacity: number,
    private readonly onEvict: (key: K, value: V) => void = () => {},
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new TypeError("Lru: capacity must be a positive integer");
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  /** The value without touching its recency. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  set(key: K, value: V): void {
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      if (old !== value) this.onEvict(key, old);
    }
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) {
      const oldest = this.#map.entries().next().value as [K, V];
      this.#map.delete(oldest[0]);
      this.onEvict(oldest[0], oldest[1]);
    }
  }

  /** Remove an entry (the eviction callback runs). */
  delete(key: K): boolean {
    const v = this.#map.get(key);
    if (v === undefined) return false;
    this.#map.delete(key);
    this.onEvict(key, v);
    return true;
  }

  clear(): void {
    const entries = [...this.#map];
    this.#map.clear();
    for (const [k, v] of entries) this.onEvict(k, v);
  }

  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}
