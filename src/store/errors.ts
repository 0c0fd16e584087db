import { SluiceError } from "../errors/index.ts";

/** Stable codes of everything the store can refuse; callers branch on these, never on messages. */
export type StoreErrorCode =
  | "ERR_STORE_NOT_WRITABLE"
  | "ERR_STORE_NOT_A_DIRECTORY"
  | "ERR_STORE_NOT_FOUND"
  | "ERR_STORE_LOCKED"
  | "ERR_STORE_LOCK_FAILED"
  | "ERR_STORE_OPEN"
  | "ERR_STORE_READ_ONLY"
  | "ERR_STORE_CLAIMED"
  | "ERR_STORE_SCHEMA_NEWER"
  | "ERR_STORE_SCHEMA_OLDER"
  | "ERR_STORE_MIGRATION"
  | "ERR_MASTER_KEY_MODE"
  | "ERR_MASTER_KEY_INVALID"
  | "ERR_MASTER_KEY_MISSING"
  | "ERR_MASTER_KEY_MISMATCH"
  | "ERR_DECRYPT";

export class StoreError extends SluiceError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
