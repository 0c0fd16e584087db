import type { Database } from "lmdb";

/** Keys LMDB can order: strings, numbers, booleans, bytes, and arrays of those (compound keys). */
export type StoreKey = string | number | boolean | Uint8Array | StoreKey[];

export type KeyEncoding = "ordered-binary" | "uint32" | "binary";
export type ValueEncoding = "msgpack" | "json" | "string" | "binary";

/**
 * A named sub-database with typed keys and values, declared once next to the code that owns it:
 *
 *   export const auditDb = defineDatabase<number, AuditRecord>({ name: "audit", keyEncoding: "uint32" });
 *   store.db(auditDb).get(42);
 *
 * The type parameters are phantom (checked at compile time only); the options are passed to LMDB.
 */
export interface DatabaseDefinition<K extends StoreKey, V> {
  readonly name: string;
  /** Default `ordered-binary` (any StoreKey, sorted naturally); `uint32` for dense numeric ids. */
  readonly keyEncoding: KeyEncoding;
  /** Default `msgpack` (structured values). */
  readonly encoding: ValueEncoding;
  /** Never set: carries K and V for the type checker. */
  readonly __types?: { key: K; value: V };
}

const NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

export function defineDatabase<K extends StoreKey, V>(options: {
  name: string;
  keyEncoding?: KeyEncoding;
  encoding?: ValueEncoding;
}): DatabaseDefinition<K, V> {
  if (!NAME.test(options.name)) throw new TypeError(`invalid database name ${JSON.stringify(options.name)}`);
  return Object.freeze({
    name: options.name,
    keyEncoding: options.keyEncoding ?? "ordered-binary",
    encoding: options.encoding ?? "msgpack",
  });
}

export interface RangeOptions<K> {
  start?: K;
  end?: K;
  /** Include `end` itself (default: exclusive). */
  inclusiveEnd?: boolean;
  exclusiveStart?: boolean;
  reverse?: boolean;
  limit?: number;
  offset?: number;
}

export interface Entry<K, V> {
  key: K;
  value: V;
}

/**
 * Typed view of one sub-database. Reads are synchronous (memory-mapped). `put`/`remove` are
 * queued and committed in batches (the fast path, ~490k/s); `putSync`/`removeSync` commit before
 * returning (~2.7k/s) unless called inside a transaction, where they join it. See `Store`.
 */
export interface TypedDb<K extends StoreKey, V> {
  readonly name: string;
  get(key: K): V | undefined;
  has(key: K): boolean;
  put(key: K, value: V): Promise<boolean>;
  putSync(key: K, value: V): void;
  remove(key: K): Promise<boolean>;
  removeSync(key: K): boolean;
  /** Lazy iteration in key order, over a consistent snapshot. */
  getRange(options?: RangeOptions<K>): Iterable<Entry<K, V>>;
  keys(options?: RangeOptions<K>): Iterable<K>;
  count(options?: RangeOptions<K>): number;
}

/** Empty until the database exists: a read-only store may open one that its writer has not created yet. */
type Resolve<K extends StoreKey, V> = () => Database<V, K> | undefined;

export function wrapDatabase<K extends StoreKey, V>(
  name: string,
  resolve: Resolve<K, V>,
  assertWritable: () => void,
): TypedDb<K, V> {
  const writable = (): Database<V, K> => {
    assertWritable();
    const db = resolve();
    if (!db) throw new Error(`database "${name}" is not open`);
    return db;
  };
  return {
    name,
    get: (key) => resolve()?.get(key),
    has: (key) => resolve()?.doesExist(key) ?? false,
    put: (key, value) => writable().put(key, value),
    putSync: (key, value) => writable().putSync(key, value),
    remove: (key) => writable().remove(key),
    removeSync: (key) => writable().removeSync(key),
    getRange: (options) => (resolve()?.getRange(options) ?? []) as Iterable<Entry<K, V>>,
    keys: (options) => resolve()?.getKeys(options) ?? [],
    count: (options) => resolve()?.getCount(options) ?? 0,
  };
}
