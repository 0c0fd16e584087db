export { AuditLog, type AuditLogOptions } from "./log.ts";
export { formatRecord } from "./format.ts";
export { canonicalJson } from "./canonical.ts";
export { redactDetails, isSecretKey, REDACTED, DEFAULT_LIMITS, type RedactLimits } from "../redact/index.ts";
export { auditDb, GENESIS_HASH } from "./chain.ts";
export { AuditError, type AuditErrorCode } from "./errors.ts";
export {
  AUDIT_DECISIONS,
  type AuditDecision,
  type AuditHead,
  type AuditInput,
  type AuditProblem,
  type AuditRecord,
  type JsonObject,
  type JsonValue,
  type VerifyResult,
} from "./types.ts";
