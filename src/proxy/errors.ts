/** Typed proxy errors: `status` is what the client is told (400 malformed, 431 head too large, 502 upstream…). */
import { SluiceError } from "../errors/index.ts";

export type ProxyErrorCode =
  | "ERR_PROXY_MALFORMED"
  | "ERR_PROXY_HEAD_TOO_LARGE"
  | "ERR_PROXY_UNSUPPORTED"
  | "ERR_PROXY_UPSTREAM"
  | "ERR_PROXY_UPSTREAM_IDENTITY"
  | "ERR_PROXY_NO_SERVICE"
  | "ERR_PROXY_UNATTRIBUTED";

export class ProxyError extends SluiceError {
  constructor(
    code: ProxyErrorCode,
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export const malformed = (message: string): ProxyError => new ProxyError("ERR_PROXY_MALFORMED", message, 400);
