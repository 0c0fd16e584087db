import { SluiceError } from "../errors/index.ts";

export type AuditErrorCode = "ERR_AUDIT_READ_ONLY" | "ERR_AUDIT_WRITE" | "ERR_AUDIT_CLOSED";

export class AuditError extends SluiceError {
  declare readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
