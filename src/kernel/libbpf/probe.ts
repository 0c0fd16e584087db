/**
 * Two libbpf calls used by `sluice doctor`'s probes only (symbols.ts lists what sluice serve
 * needs): `libbpf_probe_bpf_prog_type` (LIBBPF_0.7.0) and `bpf_program__set_autoload`
 * (LIBBPF_0.1.0). They are bound to the copy of libbpf sluice already loaded (loadLibbpf: a memfd
 * inside dist/sluice, or the vendored file), found by its soname with dlopen(RTLD_NOLOAD): never
 * a second copy, never one from the host's library path.
 *
 * libbpf_probe_bpf_prog_type loads a minimal program of the type and closes it. Caveats:
 *   - it cannot tell "unsupported" from "not permitted": without CAP_BPF every type reads as
 *     unsupported, so callers check capabilities first (errno is reported as a hint);
 *   - for BPF_PROG_TYPE_TRACING it probes an *fentry* program: a kernel without BPF trampolines
 *     for fentry says "no" although tp_btf programs (the tracing programs sluice uses) load
 *     (seen on this project's 6.18 host: EPERM). Probe tracing by loading the real programs.
 */
import { CFunction, dlopen, FFIType, type Pointer } from "bun:ffi";
import { KernelError } from "../errors.ts";
import { checkInt, optionalPtr } from "./check.ts";
import { errnoName } from "./errno.ts";
import { cString, lastErrno } from "./libc.ts";
import { loadLibbpf } from "./load.ts";
import type { BpfProgram } from "./program.ts";

/** DT_SONAME of vendor/libbpf/libsluice-bpf.so (scripts/build-libbpf.sh: -Wl,-soname). */
export const LIBBPF_SONAME = "libsluice-bpf.so";

const RTLD_LAZY = 0x1;
const RTLD_NOLOAD = 0x4;

const DL_SYMBOLS = {
  dlopen: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  dlsym: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.ptr },
} as const;

interface ProbeSymbols {
  probeProgType(progType: number, opts: Pointer | null): number;
  setAutoload(prog: Pointer, autoload: boolean): number;
}
let bound: ProbeSymbols | undefined;

function symbols(): ProbeSymbols {
  if (bound) return bound;
  loadLibbpf(); // maps the library (and installs the log callback) if nobody has yet
  const dl = dlopen("libc.so.6", DL_SYMBOLS).symbols;
  const handle = optionalPtr(dl.dlopen(cString(LIBBPF_SONAME), RTLD_LAZY | RTLD_NOLOAD));
  if (handle === undefined) throw new KernelError("ERR_BPF_LIBRARY", "dlopen", `libbpf is loaded but ${LIBBPF_SONAME} cannot be found by its soname`);
  const address = (name: string): Pointer => {
    const p = optionalPtr(dl.dlsym(handle, cString(name)));
    if (p === undefined) throw new KernelError("ERR_BPF_LIBRARY", "dlsym", `${LIBBPF_SONAME} does not export ${name}`);
    return p;
  };
  const probe = CFunction({ ptr: address("libbpf_probe_bpf_prog_type"), args: [FFIType.u32, FFIType.ptr], returns: FFIType.i32 });
  const autoload = CFunction({ ptr: address("bpf_program__set_autoload"), args: [FFIType.ptr, FFIType.bool], returns: FFIType.i32 });
  bound = {
    probeProgType: (t, o) => probe(t, o) as number,
    setAutoload: (p, on) => autoload(p, on) as number,
  };
  return bound;
}

export interface ProgTypeProbe {
  readonly supported: boolean;
  /** errno of the kernel's refusal when not supported ("EINVAL", "EPERM"…), if it set one. */
  readonly errno?: string;
}

/** libbpf_probe_bpf_prog_type(type, NULL): 1 supported, 0 not; < 0 (libbpf cannot probe the type) throws. */
export function probeProgType(progType: number): ProgTypeProbe {
  const rc = symbols().probeProgType(progType, null);
  if (rc === 1) return { supported: true };
  if (rc === 0) {
    const errno = lastErrno();
    return errno ? { supported: false, errno: errnoName(errno) } : { supported: false };
  }
  throw KernelError.fromErrno("ERR_BPF_LIBRARY", "libbpf_probe_bpf_prog_type", rc, { subject: `program type ${progType}` });
}

/** bpf_program__set_autoload: whether BpfObject.load() loads this program (call before load). */
export function setAutoload(program: BpfProgram, autoload: boolean): void {
  checkInt("ERR_BPF_LOAD", "bpf_program__set_autoload", symbols().setAutoload(program.ptr, autoload), { subject: program.name });
}
