import { redactDetails } from "../redact/index.ts";
import { AUDIT_DECISIONS, type AuditInput, type AuditRecord } from "./types.ts";

const KIND = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
const MAX_KIND = 64;
const MAX_SUBJECT = 2048;

/**
 * The record without its hash: input validated (caller mistakes are TypeErrors), subject capped,
 * details redacted. Field order is irrelevant: the hash covers canonical JSON.
 */
export function buildRecord(input: AuditInput, seq: number, prev: string, time: Date): Omit<AuditRecord, "hash"> {
  if (typeof input !== "object" || input === null) throw new TypeError("audit: input must be an object");
  const { kind, subject, pid, uid, decision, details } = input;
  if (typeof kind !== "string" || kind.length > MAX_KIND || !KIND.test(kind)) {
    throw new TypeError(`audit: kind must be a dotted lowercase name like "egress.deny", got ${JSON.stringify(kind)}`);
  }
  if (subject !== undefined && typeof subject !== "string") throw new TypeError("audit: subject must be a string");
  checkId("pid", pid);
  checkId("uid", uid);
  if (decision !== undefined && !AUDIT_DECISIONS.includes(decision)) {
    throw new TypeError(`audit: decision must be one of ${AUDIT_DECISIONS.join(", ")}`);
  }
  if (details !== undefined && (typeof details !== "object" || details === null || Array.isArray(details))) {
    throw new TypeError("audit: details must be a plain object");
  }

  const record: Omit<AuditRecord, "hash"> = { seq, time: time.toISOString(), kind, prev };
  if (subject !== undefined) record.subject = subject.length > MAX_SUBJECT ? subject.slice(0, MAX_SUBJECT) : subject;
  if (pid !== undefined) record.pid = pid;
  if (uid !== undefined) record.uid = uid;
  if (decision !== undefined) record.decision = decision;
  if (details !== undefined) record.details = redactDetails(details);
  return record;
}

function checkId(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`audit: ${name} must be a non-negative integer`);
  }
}
