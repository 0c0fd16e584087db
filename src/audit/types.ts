import type { JsonObject } from "../redact/index.ts";
export type { JsonObject, JsonValue } from "../redact/index.ts";

export type AuditDecision = "allow" | "deny" | "audit" | "info" | "error";
export const AUDIT_DECISIONS: readonly AuditDecision[] = ["allow", "deny", "audit", "info", "error"];

/** What a caller reports; the log adds seq, time and the chain fields. */
export interface AuditInput {
  /** Dotted event name, e.g. `policy.reload`, `egress.deny`, `token.issue`. */
  kind: string;
  /** SPIFFE ID of the workload or user the event is about. */
  subject?: string;
  pid?: number;
  uid?: number;
  decision?: AuditDecision;
  /** Free-form context. Secret-looking keys are redacted and sizes capped before anything is stored. */
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  /** ISO 8601, UTC. */
  time: string;
  kind: string;
  subject?: string;
  pid?: number;
  uid?: number;
  decision?: AuditDecision;
  details?: JsonObject;
  /** `hash` of the previous record (hex); 64 zeros for the first. */
  prev: string;
  /** HMAC-SHA256 over `prev` and this record's canonical JSON without `hash` (hex). */
  hash: string;
}

/** The last appended record, kept in the store's meta database. */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface AuditProblem {
  seq: number;
  /** `store`: the LMDB records themselves; `mirror`: the JSON lines copy disagrees with them. */
  where: "store" | "mirror";
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Records read from the store. */
  checked: number;
  head: AuditHead;
  /** The problem with the lowest seq. */
  firstBad?: AuditProblem;
  /** Sorted by seq; capped (see `omitted`). */
  problems: AuditProblem[];
  /** Problems found beyond the cap. */
  omitted: number;
}
