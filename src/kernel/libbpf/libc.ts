/**
 * The few libc calls the kernel layer needs that Node's fs lacks: memfd_create (to dlopen the
 * embedded libbpf from memory), mount (bpffs), vsnprintf (to format libbpf's log lines), memcpy
 * (to copy ring buffer records out of kernel-shared memory), if_nameindex/if_nametoindex (the
 * calling thread's network namespace's interfaces), setns and errno. glibc's soname: sluice targets Linux/glibc, and the compiled binary needs nothing else.
 */
import { dlopen, FFIType, read, type Library, type Pointer } from "bun:ffi";

const LIBC_SYMBOLS = {
  __errno_location: { args: [], returns: FFIType.ptr },
  memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  mount: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  memcpy: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  vsnprintf: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  if_nameindex: { args: [], returns: FFIType.ptr },
  if_freenameindex: { args: [FFIType.ptr], returns: FFIType.void },
  if_nametoindex: { args: [FFIType.ptr], returns: FFIType.u32 },
  setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
} as const;

export type LibcSymbols = Library<typeof LIBC_SYMBOLS>["symbols"];

let symbols: LibcSymbols | undefined;

export function libc(): LibcSymbols {
  symbols ??= dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
  return symbols;
}

/**
 * The calling thread's errno. Read it as the very next step after a failing call: any later libc
 * call (including ones the runtime makes) may overwrite it.
 */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p as Pointer, 0);
}

/** A NUL-terminated copy of `s` to pass as `const char *` (keep it referenced while C may read it). */
export function cString(s: string): Buffer {
  if (s.includes("\0")) throw new TypeError(`string passed to C contains NUL: ${JSON.stringify(s)}`);
  return Buffer.from(`${s}\0`, "utf8");
}

export const MFD_CLOEXEC = 0x1;
/** Linux ≥ 6.3: ask for an executable memfd explicitly (needed where vm.memfd_noexec = 1). */
export const MFD_EXEC = 0x10;
