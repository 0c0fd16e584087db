import type { KeyObject } from "node:crypto";
import type { Store } from "../store/index.ts";
import { canonicalJson } from "./canonical.ts";
import { auditDb, chainHash, GENESIS_HASH, HEAD_KEY, isHash, parseRecord } from "./chain.ts";
import { Problems, seqRange } from "./problems.ts";
import { verifyMirror } from "./verify-mirror.ts";
import type { AuditHead, AuditRecord, VerifyResult } from "./types.ts";

export interface VerifyOptions {
  mirrorPath: string | null;
  /** Another process may be writing: give its mirror a moment to catch up before calling lines missing. */
  concurrentWriter: boolean;
}

/**
 * Walk the whole chain in the store, check it against the head, then compare the JSON lines
 * mirror record by record. Each finding names the seq and what is wrong.
 */
export async function verifyAudit(store: Store, key: KeyObject, options: VerifyOptions): Promise<VerifyResult> {
  const problems = new Problems();
  const chain = verifyChain(store, key, problems);
  const head = verifyHead(store, chain.last, problems);
  if (options.mirrorPath !== null) {
    let mirror = await verifyMirror(store, options.mirrorPath);
    if (options.concurrentWriter && mirror.trailingMissing) {
      await Bun.sleep(500);
      mirror = await verifyMirror(store, options.mirrorPath);
    }
    for (const p of mirror.problems.list) problems.add(p.seq, p.where, p.reason);
    problems.omitted += mirror.problems.omitted;
  }
  const sorted = problems.sorted();
  return { ok: sorted.length === 0, checked: chain.checked, head, firstBad: sorted[0], problems: sorted, omitted: problems.omitted };
}

function verifyChain(store: Store, key: KeyObject, problems: Problems): { checked: number; last: AuditHead | undefined } {
  let expected = 1;
  let prev: string | undefined = GENESIS_HASH;
  let checked = 0;
  let last: AuditHead | undefined;
  for (const { key: seq, value: text } of store.db(auditDb).getRange()) {
    checked++;
    const gap = seq > expected; // the next record's prev then points at a deleted one: report the gap only
    if (gap) problems.add(expected, "store", `${seqRange(expected, seq - 1)} missing (deleted from the store)`);
    expected = seq + 1;
    const record = parseRecord(text);
    if (!isRecordShaped(record)) {
      problems.add(seq, "store", "record is malformed (not an audit record)");
      prev = undefined;
      last = { seq, hash: "" };
      continue;
    }
    if (record.seq !== seq) problems.add(seq, "store", `record stored under seq ${seq} says seq ${record.seq}`);
    if (!gap && prev !== undefined && record.prev !== prev) {
      problems.add(seq, "store", `prev does not match the hash of record ${seq - 1} (a record was replaced or the chain re-linked)`);
    }
    const { hash, ...body } = record;
    if (!safeHashEquals(key, body, hash)) {
      problems.add(seq, "store", "hash mismatch: the record was modified after it was written");
    } else if (text !== safeCanonical(record)) {
      problems.add(seq, "store", "record was re-encoded (same hashed content, different bytes)");
    }
    prev = hash;
    last = { seq, hash };
  }
  return { checked, last };
}

/** The head (last seq + hash) kept in meta must point at the last record: anything else means truncation or rollback. */
function verifyHead(store: Store, last: AuditHead | undefined, problems: Problems): AuditHead {
  const raw = store.meta.get(HEAD_KEY) as Partial<AuditHead> | undefined;
  const lastSeq = last?.seq ?? 0;
  if (raw === undefined && !last) return { seq: 0, hash: GENESIS_HASH };
  if (!raw || !Number.isSafeInteger(raw.seq) || !isHash(raw.hash)) {
    problems.add(lastSeq, "store", "the audit head is missing or malformed");
    return last ?? { seq: 0, hash: GENESIS_HASH };
  }
  const head = { seq: raw.seq!, hash: raw.hash };
  if (head.seq > lastSeq) {
    problems.add(lastSeq + 1, "store", `${seqRange(lastSeq + 1, head.seq)} missing at the end (the head says the log reached seq ${head.seq})`);
  } else if (head.seq < lastSeq) {
    problems.add(head.seq + 1, "store", `${seqRange(head.seq + 1, lastSeq)} beyond the head (seq ${head.seq}): the head was rolled back or records were added`);
  } else if (last && head.hash !== last.hash) {
    problems.add(lastSeq, "store", "the head's hash does not match the last record");
  }
  return head;
}

function isRecordShaped(value: AuditRecord | undefined): value is AuditRecord {
  return typeof value === "object" && value !== null && isHash(value.prev) && isHash(value.hash);
}

function safeCanonical(record: AuditRecord): string | undefined {
  try {
    return canonicalJson(record);
  } catch {
    return undefined;
  }
}

function safeHashEquals(key: KeyObject, body: Omit<AuditRecord, "hash">, hash: string): boolean {
  try {
    return chainHash(key, body) === hash;
  } catch {
    return false; // values with no JSON form cannot have been written by append()
  }
}

