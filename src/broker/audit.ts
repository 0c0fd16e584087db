/** The audit sink the broker writes to (AuditLog satisfies it; append is synchronous and batched). */
import type { AuditInput } from "../audit/index.ts";

export interface AuditSink {
  append(input: AuditInput): unknown;
}
