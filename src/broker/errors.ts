import { SluiceError } from "../errors/index.ts";

export type BrokerErrorCode =
  | "ERR_BROKER_UPSTREAM" // the upstream AS answered with an error or something malformed
  | "ERR_BROKER_UPSTREAM_UNAVAILABLE" // network error, timeout, 5xx
  | "ERR_BROKER_DISCOVERY" // no usable metadata for the upstream AS
  | "ERR_BROKER_SECRET" // a secret file or variable is missing, unsafe or too large
  | "ERR_BROKER_CONFIG"; // a source cannot work as written (e.g. no registration endpoint and no clientID)

/** A failure of the credential broker; `oauthError` is the upstream's RFC 6749 §5.2 code when it sent one. */
export class BrokerError extends SluiceError {
  constructor(
    code: BrokerErrorCode,
    message: string,
    readonly oauthError?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
