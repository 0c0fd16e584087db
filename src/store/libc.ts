import { dlopen, FFIType, read } from "bun:ffi";

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const EWOULDBLOCK = 11;

type Libc = { flock(fd: number, op: number): number; errno(): number };
let libc: Libc | undefined;

/** The few libc calls Node's fs lacks, loaded on first use (glibc's soname; sluice targets Linux/glibc). */
export function getLibc(): Libc {
  if (libc) return libc;
  const { symbols } = dlopen("libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  libc = {
    flock: (fd, op) => symbols.flock(fd, op),
    // Read right after the failing call: any later libc call may overwrite errno.
    errno: () => {
      const ptr = symbols.__errno_location();
      return ptr === null ? 0 : read.i32(ptr, 0);
    },
  };
  return libc;
}
