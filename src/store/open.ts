import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { open as openLmdb, type RootDatabase } from "lmdb";
import { silentLogger, type Logger } from "../log/index.ts";
import { ensureDataDir } from "./data-dir.ts";
import { StoreError } from "./errors.ts";
import { acquireLock, type StoreLock } from "./lock.ts";
import { createMasterKey, loadMasterKey, type MasterKey } from "./master-key.ts";
import { META_KEY_CHECK } from "./meta.ts";
import { applySchema, STORE_MIGRATIONS, type Migration } from "./schema.ts";
import { LmdbStore, type Store } from "./store.ts";

export interface OpenStoreOptions {
  dataDir: string;
  logger?: Logger;
  /** For CLI commands next to a running `sluice serve`: no lock, no writes, no key creation. */
  readOnly?: boolean;
  /** Schema steps; defaults to the binary's own. Tests pass their own. */
  migrations?: readonly Migration[];
}

export const STORE_FILES = { lock: "sluice.lock", masterKey: "master.key", lmdb: "store" } as const;

/**
 * Open the data dir: create it if needed, take the exclusive lock, load (or on a fresh store
 * create) the master key, open LMDB and bring its schema up to date.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const dataDir = resolve(options.dataDir);
  const readOnly = options.readOnly ?? false;
  const logger = (options.logger ?? silentLogger).child({ component: "store" });
  const lmdbPath = join(dataDir, STORE_FILES.lmdb);

  ensureDataDir(dataDir, { readOnly, logger });
  if (readOnly && !existsSync(join(lmdbPath, "data.mdb"))) {
    throw new StoreError("ERR_STORE_NOT_FOUND", `no store in ${lmdbPath} (has \`sluice serve\` run with this dataDir?)`);
  }
  const lock = readOnly ? undefined : acquireLock(join(dataDir, STORE_FILES.lock), dataDir);
  let root: RootDatabase | undefined;
  try {
    const masterKey = obtainMasterKey(join(dataDir, STORE_FILES.masterKey), lmdbPath, readOnly, logger);
    root = openEnvironment(lmdbPath, readOnly);
    const store = new LmdbStore(dataDir, readOnly, { root, masterKey, lock });
    checkKeyMatches(store, masterKey);
    store.schemaVersion = applySchema(store, options.migrations ?? STORE_MIGRATIONS, logger);
    logger.info("store opened", { dataDir, schemaVersion: store.schemaVersion, readOnly });
    return store;
  } catch (err) {
    await root?.close().catch(() => {});
    lock?.release();
    throw err;
  }
}

function obtainMasterKey(path: string, lmdbPath: string, readOnly: boolean, logger: Logger): MasterKey {
  const existing = loadMasterKey(path);
  if (existing) return existing;
  // Never mint a new key next to data sealed with a lost one: everything sealed would be garbage.
  if (readOnly || existsSync(join(lmdbPath, "data.mdb"))) {
    throw new StoreError(
      "ERR_MASTER_KEY_MISSING",
      `master key ${path} is missing but the store in ${lmdbPath} exists: restore master.key from a backup (sealed secrets and the audit chain need it), or move the store away to start from scratch`,
    );
  }
  const created = createMasterKey(path);
  logger.info("created master key", { path });
  return created;
}

function openEnvironment(path: string, readOnly: boolean): RootDatabase {
  try {
    if (readOnly) return openLmdb({ path, maxDbs: 64, readOnly });
    mkdirSync(path, { recursive: true, mode: 0o700 });
    const root = openLmdb({ path, maxDbs: 64 });
    try {
      for (const file of ["data.mdb", "lock.mdb"]) chmodSync(join(path, file), 0o600);
    } catch (err) {
      void root.close();
      throw err;
    }
    return root;
  } catch (err) {
    throw new StoreError("ERR_STORE_OPEN", `cannot open LMDB store in ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function checkKeyMatches(store: Store, key: MasterKey): void {
  const expected = key.checkValue();
  const stored = store.meta.get(META_KEY_CHECK);
  if (stored === undefined) {
    if (!store.readOnly) store.meta.putSync(META_KEY_CHECK, expected);
    return;
  }
  if (stored !== expected) {
    throw new StoreError(
      "ERR_MASTER_KEY_MISMATCH",
      `master key in ${store.dataDir} does not belong to this store (was master.key replaced?): restore the original master.key`,
    );
  }
}
