/**
 * Errors of the kernel layer: every failed bpf()/libbpf/libc call becomes a `KernelError` with a
 * stable `code`, the errno NAME (`EPERM`, `E2BIG`, `LIBBPF_ERRNO__VERIFY`…) and the call that
 * failed, so an operator reads `bpf_object__load(sluice): EPERM (Operation not permitted)` and a
 * caller branches on `code`/`errno` without parsing text. Wrong arguments are TypeErrors.
 */
import { SluiceError } from "../errors/index.ts";
import { errnoName } from "./libbpf/errno.ts";

export type KernelErrorCode =
  /** The libbpf shared object could not be written to a memfd or dlopened. */
  | "ERR_BPF_LIBRARY"
  /** bpf_object__open_mem rejected the ELF bytes. */
  | "ERR_BPF_OPEN"
  /** bpf_object__load failed (verifier, missing kernel feature, permissions…); `log` has libbpf's lines. */
  | "ERR_BPF_LOAD"
  /** No program or map of that name in the object. */
  | "ERR_BPF_NOT_FOUND"
  | "ERR_BPF_ATTACH"
  | "ERR_BPF_PIN"
  | "ERR_BPF_MAP"
  | "ERR_BPF_RINGBUF"
  /** bpffs could not be mounted / the pin directory could not be created. */
  | "ERR_BPF_FS"
  /** No cgroup v2 hierarchy mounted. */
  | "ERR_BPF_CGROUP"
  /** Anything else from a bpf() call (test_run, link_create…). */
  | "ERR_BPF_SYSCALL";

export class KernelError extends SluiceError {
  declare readonly code: KernelErrorCode;
  /** errno name (`ENOENT`), or undefined when the failure is not an errno (e.g. a missing name). */
  readonly errno: string | undefined;
  /** errno number (positive), if any. */
  readonly errnoNumber: number | undefined;
  /** The libbpf / libc / bpf() call that failed, e.g. `bpf_map_update_elem`. */
  readonly call: string;
  /** libbpf's log lines captured during the call (verifier output on a failed load). */
  readonly log: readonly string[];

  constructor(code: KernelErrorCode, call: string, message: string, options: { errno?: number; log?: readonly string[]; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.call = call;
    this.errnoNumber = options.errno === undefined ? undefined : Math.abs(options.errno);
    this.errno = options.errno === undefined ? undefined : errnoName(options.errno);
    this.log = options.log ?? [];
  }

  /**
   * From an errno (either sign): message `call(subject): ENAME (description)`. `describe` is
   * libbpf_strerror when libbpf is loaded (it knows LIBBPF_ERRNO__*), else absent.
   */
  static fromErrno(
    code: KernelErrorCode,
    call: string,
    errno: number,
    options: { subject?: string; describe?: (errno: number) => string | undefined; log?: readonly string[]; hint?: string } = {},
  ): KernelError {
    const n = Math.abs(errno);
    const text = options.describe?.(n);
    const where = options.subject === undefined ? call : `${call}(${options.subject})`;
    const hint = options.hint === undefined ? "" : `: ${options.hint}`;
    const message = `${where}: ${errnoName(n)}${text ? ` (${text})` : ""}${hint}`;
    return new KernelError(code, call, message, { errno: n, ...(options.log ? { log: options.log } : {}) });
  }
}
