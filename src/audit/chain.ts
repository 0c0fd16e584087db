import { createHmac, type KeyObject } from "node:crypto";
import { defineDatabase, type Store } from "../store/index.ts";
import { canonicalJson } from "./canonical.ts";
import type { AuditHead, AuditRecord } from "./types.ts";

/**
 * Records by seq (1, 2, …), each stored as its canonical JSON: the exact bytes of its mirror line,
 * with no second encoding on the hot path. uint32 keys: 4.29e9 records, 136 years at 1000 events/s.
 */
export const auditDb = defineDatabase<number, string>({ name: "audit", keyEncoding: "uint32", encoding: "string" });
/**
 * The last record's {seq, hash}, committed with it: deleting records from the end shows up as a
 * head pointing past the last record. Limit: someone with root can truncate *and* rewind the head
 * consistently (both values are readable); only a copy kept elsewhere (the mirror shipped off-host,
 * or a head logged remotely) reveals that.
 */
export const HEAD_KEY = "audit.head";
export const GENESIS_HASH = "0".repeat(64);
export const MAX_SEQ = 0xffff_ffff;

const HASH = /^[0-9a-f]{64}$/;

/**
 * The chain is keyed: hash = HMAC-SHA256(auditKey, prev ‖ canonical JSON of the record without
 * `hash`), with auditKey derived from the master key. Whoever edits the LMDB file or the JSON lines
 * without master.key cannot produce hashes that verify; a plain SHA-256 chain could simply be
 * recomputed after an edit.
 */
export function auditKey(store: Store): KeyObject {
  return store.deriveKey("audit-chain");
}

export function chainHash(key: KeyObject, record: Omit<AuditRecord, "hash">): string {
  return hashEncoded(key, record.prev, canonicalJson(record));
}

/** Same, with the record's canonical JSON already computed. */
export function hashEncoded(key: KeyObject, prev: string, canonical: string): string {
  return createHmac("sha256", key).update(Buffer.from(prev, "hex")).update(canonical).digest("hex");
}

export function isHash(value: unknown): value is string {
  return typeof value === "string" && HASH.test(value);
}

export function readHead(store: Store): AuditHead {
  const head = store.meta.get(HEAD_KEY) as Partial<AuditHead> | undefined;
  if (head && Number.isSafeInteger(head.seq) && isHash(head.hash)) return { seq: head.seq!, hash: head.hash };
  return { seq: 0, hash: GENESIS_HASH };
}

/** Seq (the key, not the record's own claim) and hash of the last stored record, if any. */
export function lastStored(store: Store): { seq: number; hash: string | undefined } | undefined {
  for (const { key, value } of store.db(auditDb).getRange({ reverse: true, limit: 1 })) {
    const hash = parseRecord(value)?.hash;
    return { seq: key, hash: isHash(hash) ? hash : undefined };
  }
  return undefined;
}

/** Parse a stored record; undefined if it is not even JSON (tampering: verify reports it). */
export function parseRecord(text: string): AuditRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as AuditRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** For readers (tail, follow): an unreadable record shows up as such instead of breaking the listing. */
export function decodeRecord(seq: number, text: string): AuditRecord {
  return (
    parseRecord(text) ?? {
      seq,
      time: "",
      kind: "audit.unreadable",
      decision: "error",
      details: { reason: "stored record is not valid JSON; run `sluice audit verify`" },
      prev: "",
      hash: "",
    }
  );
}
