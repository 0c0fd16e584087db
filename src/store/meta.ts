import { defineDatabase } from "./database.ts";

/** The store's own bookkeeping (schema version, key check); other parts may keep small singletons here too. */
export const metaDb = defineDatabase<string, unknown>({ name: "meta" });

export const META_SCHEMA_VERSION = "store.schemaVersion";
export const META_KEY_CHECK = "store.keyCheck";
