import { canonicalJson } from "./canonical.ts";
import type { AuditRecord } from "./types.ts";

/**
 * canonicalJson of a record, for the append hot path: the top-level fields are known, so they are
 * written in sorted order by hand, `details` is canonicalized once, and the record is encoded once
 * around the slot where `hash` goes ("decision" < "details" < "hash" < "kind" < …).
 * A test pins the output to canonicalJson's.
 */
export class RecordEncoding {
  readonly #before: string;
  readonly #after: string;

  constructor(record: Omit<AuditRecord, "hash">) {
    let before = "";
    if (record.decision !== undefined) before += `"decision":${JSON.stringify(record.decision)},`;
    if (record.details !== undefined) before += `"details":${canonicalJson(record.details)},`;
    let after = `"kind":${JSON.stringify(record.kind)},`;
    if (record.pid !== undefined) after += `"pid":${record.pid},`;
    after += `"prev":"${record.prev}","seq":${record.seq},`;
    if (record.subject !== undefined) after += `"subject":${JSON.stringify(record.subject)},`;
    after += `"time":"${record.time}"`;
    if (record.uid !== undefined) after += `,"uid":${record.uid}`;
    this.#before = before;
    this.#after = after;
  }

  /** What the chain hash covers. */
  withoutHash(): string {
    return `{${this.#before}${this.#after}}`;
  }

  /** What is stored and mirrored. `hash` is hex. */
  withHash(hash: string): string {
    return `{${this.#before}"hash":"${hash}",${this.#after}}`;
  }
}
