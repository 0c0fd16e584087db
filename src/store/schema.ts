import type { Logger } from "../log/index.ts";
import { StoreError } from "./errors.ts";
import { META_SCHEMA_VERSION } from "./meta.ts";
import type { Store } from "./store.ts";

/**
 * One step of the on-disk layout's history. `migrate` runs synchronously inside a write
 * transaction together with the version bump, so a crash leaves the store at `to - 1` or `to`.
 */
export interface Migration {
  readonly to: number;
  readonly description: string;
  migrate(store: Store): void;
}

/** Version 1 is the initial layout; append steps here (`to: 2`, `to: 3`…), never edit shipped ones. */
export const STORE_MIGRATIONS: readonly Migration[] = [];

export const BASE_SCHEMA_VERSION = 1;

export function targetVersion(migrations: readonly Migration[]): number {
  let expected = BASE_SCHEMA_VERSION + 1;
  for (const m of migrations) {
    if (m.to !== expected) throw new TypeError(`store migrations must be numbered ${BASE_SCHEMA_VERSION + 1}, ${BASE_SCHEMA_VERSION + 2}, … in order; found to=${m.to} where ${expected} was expected`);
    expected++;
  }
  return expected - 1;
}

/** Bring the store to the binary's schema version; returns the version it is at afterwards. */
export function applySchema(store: Store, migrations: readonly Migration[], logger: Logger): number {
  const target = targetVersion(migrations);
  const stored = store.meta.get(META_SCHEMA_VERSION);

  if (stored === undefined) {
    if (!store.readOnly) store.meta.putSync(META_SCHEMA_VERSION, target);
    return target;
  }
  if (typeof stored !== "number" || !Number.isInteger(stored) || stored < BASE_SCHEMA_VERSION) {
    throw new StoreError("ERR_STORE_OPEN", `store in ${store.dataDir} has an invalid schema version ${JSON.stringify(stored)}`);
  }
  if (stored > target) {
    throw new StoreError(
      "ERR_STORE_SCHEMA_NEWER",
      `store in ${store.dataDir} was written by a newer sluice (schema ${stored}, this binary knows up to ${target}): upgrade sluice or restore a backup`,
    );
  }
  if (stored === target) return stored;
  if (store.readOnly) {
    throw new StoreError(
      "ERR_STORE_SCHEMA_OLDER",
      `store in ${store.dataDir} has schema ${stored} and needs migrating to ${target}: run \`sluice serve\` once first`,
    );
  }

  for (const step of migrations) {
    if (step.to <= stored) continue;
    logger.info("migrating store schema", { from: step.to - 1, to: step.to, description: step.description });
    try {
      store.transactionSync(() => {
        step.migrate(store);
        store.meta.putSync(META_SCHEMA_VERSION, step.to);
      });
    } catch (err) {
      throw new StoreError(
        "ERR_STORE_MIGRATION",
        `migrating the store in ${store.dataDir} to schema ${step.to} (${step.description}) failed, it stays at ${step.to - 1}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
  return target;
}
