export { openStore, STORE_FILES, type OpenStoreOptions } from "./open.ts";
export type { Store } from "./store.ts";
export {
  defineDatabase,
  type DatabaseDefinition,
  type Entry,
  type KeyEncoding,
  type RangeOptions,
  type StoreKey,
  type TypedDb,
  type ValueEncoding,
} from "./database.ts";
export { metaDb } from "./meta.ts";
export { BASE_SCHEMA_VERSION, STORE_MIGRATIONS, type Migration } from "./schema.ts";
export type { Sealer } from "./sealer.ts";
export { StoreError, type StoreErrorCode } from "./errors.ts";
