/**
 * Typed errors of process attestation (jose style: one base class, a stable `code`, subclasses
 * with context). Callers branch on `code`; a wrong argument (pid not a positive integer) is a
 * TypeError instead. SPIFFE ID syntax errors live with the parser (`SpiffeIdError`).
 */
import { SluiceError } from "../errors/index.ts";

export type IdentityErrorCode =
  | "ERR_PROCESS_GONE"
  | "ERR_PID_REUSED"
  | "ERR_PROCESS_CHANGED"
  | "ERR_PROCESS_ACCESS"
  | "ERR_PROCESS_INVALID"
  | "ERR_PROCFS";

export class IdentityError extends SluiceError {
  declare readonly code: IdentityErrorCode;
  readonly pid: number;
  constructor(code: IdentityErrorCode, pid: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.pid = pid;
  }
}

/** The process exited (or is a zombie) before or while it was attested: nothing is attributed. */
export class ProcessGoneError extends IdentityError {
  constructor(pid: number, detail = "the process exited", options?: { cause?: unknown }) {
    super("ERR_PROCESS_GONE", pid, `pid ${pid}: ${detail}`, options);
  }
}

/**
 * The pid now names a different process than the one recorded (it exited and the number was
 * given to a new process): the facts of one are never attributed to the other.
 */
export class PidReusedError extends IdentityError {
  readonly expectedStartTime: number;
  readonly actualStartTime: number;
  constructor(pid: number, expectedStartTime: number, actualStartTime: number, how = "start time") {
    super(
      "ERR_PID_REUSED",
      pid,
      `pid ${pid} was reused: the recorded process (start time ${expectedStartTime}) is gone and the pid now names another process (start time ${actualStartTime}; detected by ${how})`,
    );
    this.expectedStartTime = expectedStartTime;
    this.actualStartTime = actualStartTime;
  }
}

/** The process kept exec'ing (or stayed mid-exec) while it was being read: its facts never settled. */
export class ProcessChangedError extends IdentityError {
  constructor(pid: number, attempts: number) {
    super("ERR_PROCESS_CHANGED", pid, `pid ${pid}: the process was executing a new program throughout ${attempts} attempts to read it`);
  }
}

/** procfs refused (EACCES/EPERM): sluice must run as root to attest other users' processes. */
export class ProcessAccessError extends IdentityError {
  constructor(pid: number, what: string, options?: { cause?: unknown }) {
    super("ERR_PROCESS_ACCESS", pid, `pid ${pid}: permission denied reading ${what} (attestation needs root: run sluice as root)`, options);
  }
}

/** The number is not a process sluice can attest (a thread id, not a thread-group leader). */
export class ProcessInvalidError extends IdentityError {
  constructor(pid: number, detail: string) {
    super("ERR_PROCESS_INVALID", pid, `pid ${pid}: ${detail}`);
  }
}

/** procfs said something sluice cannot parse, or failed in an unexpected way. */
export class ProcfsError extends IdentityError {
  constructor(pid: number, detail: string, options?: { cause?: unknown }) {
    super("ERR_PROCFS", pid, `pid ${pid}: ${detail}`, options);
  }
}
