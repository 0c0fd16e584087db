/**
 * Typed errors with stable codes (modelled on jose's `JOSEError`): callers branch on `code`,
 * operators read `message`, which says what failed and, where possible, how to fix it.
 */
export class SluiceError extends Error {
  /** Stable machine-readable code, e.g. `ERR_STORE_LOCKED`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A problem with what the operator wrote (config file, flags, environment). */
export class ConfigError extends SluiceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_CONFIG", message, options);
  }
}

/** Wrong command-line usage: exit code 2. `command` ("sluice policy explain") points at the right --help. */
export class UsageError extends SluiceError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super("ERR_USAGE", message);
  }
}

/** Prefix an error message with context as it rises ("loading config: …"), keeping code and cause. */
export function withContext(context: string, err: unknown): Error {
  if (err instanceof SluiceError) {
    const wrapped = new SluiceError(err.code, `${context}: ${err.message}`, { cause: err });
    return wrapped;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SluiceError("ERR_INTERNAL", `${context}: ${message}`, { cause: err });
}

/** Node-style system error code (`EACCES`, `ENOENT`…) of an unknown thrown value, if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") return err.code;
  return undefined;
}
