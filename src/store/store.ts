import type { KeyObject } from "node:crypto";
import type { Database, RootDatabase } from "lmdb";
import { wrapDatabase, type DatabaseDefinition, type StoreKey, type TypedDb } from "./database.ts";
import { StoreError } from "./errors.ts";
import type { StoreLock } from "./lock.ts";
import type { MasterKey } from "./master-key.ts";
import { metaDb } from "./meta.ts";
import { createSealer, type Sealer } from "./sealer.ts";

/**
 * The data dir's LMDB environment, master key and lock, owned by one process.
 *
 * Writes, fastest first (measured here: 2 cores, ext4):
 * - `db.put()` outside any transaction: queued; all writes of one event turn commit together
 *   (~490–650k puts/s). The promise resolves at commit; `flushed()` when on disk. Awaiting each put
 *   before the next one serializes on commits (~2k/s): only await where the caller must know.
 * - `transaction(fn)`: `fn` runs later, holding the write lock, in the next batch; its reads see a
 *   consistent state. For read-modify-write (single-use codes, rotations) when the caller can await.
 * - `transactionSync(fn)` / `putSync()` outside a transaction: commit before returning (~2.5–2.9k/s,
 *   one disk sync each). Only where the next line needs the write done (startup, migrations, admin).
 * A `fn` that throws leaves no trace in either kind of transaction. `fn` must be synchronous.
 */
export interface Store {
  readonly dataDir: string;
  readonly readOnly: boolean;
  readonly schemaVersion: number;
  readonly meta: TypedDb<string, unknown>;
  db<K extends StoreKey, V>(definition: DatabaseDefinition<K, V>): TypedDb<K, V>;
  transaction<T>(fn: () => T): Promise<T>;
  transactionSync<T>(fn: () => T): T;
  /** Resolves when everything written so far is fsynced. */
  flushed(): Promise<void>;
  /** AES-256-GCM sealer with its own subkey for `purpose` (e.g. `broker-tokens`). */
  sealer(purpose: string): Sealer;
  /** An HKDF subkey of the master key for `purpose`, for uses other than sealing (e.g. MACs). */
  deriveKey(purpose: string): KeyObject;
  /**
   * Reserve `name` for a single in-process writer (e.g. the audit chain, whose state lives in
   * memory). Throws `ERR_STORE_CLAIMED` if held; returns the release function.
   */
  claim(name: string): () => void;
  /** Waits for pending writes, closes LMDB and releases the lock. Idempotent. */
  close(): Promise<void>;
}

type Opened = { definition: DatabaseDefinition<StoreKey, unknown>; typed: TypedDb<StoreKey, unknown> };

export class LmdbStore implements Store {
  readonly meta: TypedDb<string, unknown>;
  schemaVersion = 0;
  readonly #root: RootDatabase;
  readonly #masterKey: MasterKey;
  readonly #lock: StoreLock | undefined;
  readonly #opened = new Map<string, Opened>();
  readonly #claims = new Set<string>();
  #closing: Promise<void> | undefined;

  constructor(
    readonly dataDir: string,
    readonly readOnly: boolean,
    parts: { root: RootDatabase; masterKey: MasterKey; lock: StoreLock | undefined },
  ) {
    this.#root = parts.root;
    this.#masterKey = parts.masterKey;
    this.#lock = parts.lock;
    this.meta = this.db(metaDb);
  }

  db<K extends StoreKey, V>(definition: DatabaseDefinition<K, V>): TypedDb<K, V> {
    const known = this.#opened.get(definition.name);
    if (known) {
      const same = known.definition.keyEncoding === definition.keyEncoding && known.definition.encoding === definition.encoding;
      if (!same) throw new TypeError(`database "${definition.name}" is already open with other encodings`);
      return known.typed as unknown as TypedDb<K, V>;
    }
    const open = (): Database<V, K> | undefined =>
      this.#root.openDB<V, K>({ name: definition.name, keyEncoding: definition.keyEncoding, encoding: definition.encoding }) ??
      undefined;
    let db = open();
    // Read-only: lmdb returns nothing for a database the writer has not created yet; look again later.
    const resolve = () => (db ??= open());
    const typed = wrapDatabase<K, V>(definition.name, resolve, () => this.#assertWritable());
    this.#opened.set(definition.name, {
      definition: definition as DatabaseDefinition<StoreKey, unknown>,
      typed: typed as unknown as TypedDb<StoreKey, unknown>,
    });
    return typed;
  }

  async transaction<T>(fn: () => T): Promise<T> {
    this.#assertWritable();
    // lmdb's plain `transaction` commits the writes made before a throw; a child transaction aborts them.
    return await this.#root.childTransaction(() => {
      const result = fn();
      if (isThenable(result)) throw new TypeError("store.transaction: fn must be synchronous (it runs holding the write lock)");
      return result;
    });
  }

  transactionSync<T>(fn: () => T): T {
    this.#assertWritable();
    return this.#root.transactionSync(() => {
      const result = fn();
      if (isThenable(result)) throw new TypeError("store.transactionSync: fn must be synchronous");
      return result;
    });
  }

  async flushed(): Promise<void> {
    if (this.readOnly) return;
    await this.#root.committed;
    await this.#root.flushed;
  }

  sealer(purpose: string): Sealer {
    return createSealer(purpose, this.#masterKey.derive(`seal:${purpose}`));
  }

  deriveKey(purpose: string): KeyObject {
    return this.#masterKey.derive(`key:${purpose}`);
  }

  claim(name: string): () => void {
    if (this.#claims.has(name)) {
      throw new StoreError("ERR_STORE_CLAIMED", `${name} in ${this.dataDir} already has a writer in this process`);
    }
    this.#claims.add(name);
    return () => this.#claims.delete(name);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      await this.flushed();
      await this.#root.close();
    } finally {
      this.#lock?.release();
    }
  }

  #assertWritable(): void {
    if (this.readOnly) throw new StoreError("ERR_STORE_READ_ONLY", `store in ${this.dataDir} is open read-only`);
    if (this.#closing) throw new StoreError("ERR_STORE_OPEN", `store in ${this.dataDir} is closed`);
  }
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}
