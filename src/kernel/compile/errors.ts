/** A snapshot the kernel maps cannot represent. The caller keeps the previous generation in force. */
import { SluiceError } from "../../errors/index.ts";
import type { RuleRef } from "../../policy/index.ts";

export class KernelCompileError extends SluiceError {
  constructor(
    message: string,
    /** SPIFFE ID, or `(unmanaged)`. */
    readonly workload: string,
    /** The prefix that overflowed, e.g. `10.1.2.0/24`. */
    readonly prefix: string,
    /** Every rule whose ports land on that prefix (its own and the covering ones). */
    readonly rules: readonly RuleRef[],
  ) {
    super("ERR_KERNEL_COMPILE", message);
  }
}
