/**
 * The few Linux calls process attestation needs that Node's fs lacks, through bun:ffi on glibc:
 * pidfd_open(2), pidfd_send_signal(2) (signal 0 = liveness), statx(2) into a reusable buffer,
 * close(2) and sysconf(_SC_CLK_TCK). Loaded on first use. pidfd_open and pidfd_send_signal go
 * through syscall(2): glibc < 2.36 has no wrappers, and 434/424 are the same on every architecture.
 */
import { dlopen, FFIType, ptr, read, type Pointer } from "bun:ffi";

const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;
const SC_CLK_TCK = 2;

export const ESRCH = 3;
export const ENOENT = 2;
export const EACCES = 13;
export const EPERM = 1;
export const EINVAL = 22;

type Symbols = {
  syscall(n: number, a: number, b: number, c: number, d: number): number;
  statx(dirfd: number, path: Pointer, flags: number, mask: number, buf: Pointer): number;
  close(fd: number): number;
  sysconf(name: number): number;
  fstatfs(fd: number, buf: Pointer): number;
  __errno_location(): Pointer | null;
};

let symbols: Symbols | undefined;

function libc(): Symbols {
  if (symbols) return symbols;
  const lib = dlopen("libc.so.6", {
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 },
    statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    sysconf: { args: [FFIType.i32], returns: FFIType.i64 },
    fstatfs: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  const s = lib.symbols;
  symbols = {
    syscall: (n, a, b, c, d) => Number(s.syscall(n, a, b, c, d)),
    statx: (dirfd, path, flags, mask, buf) => s.statx(dirfd, path, flags, mask, buf),
    close: (fd) => s.close(fd),
    sysconf: (name) => Number(s.sysconf(name)),
    fstatfs: (fd, buf) => s.fstatfs(fd, buf),
    __errno_location: () => s.__errno_location() as Pointer | null,
  };
  return symbols as Symbols;
}

/** errno of the libc call just made (read it before any other call). */
function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

/** A failed system call: `errno` as a number, `code` as Node names it (ESRCH…). */
export class SysError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
  ) {
    super(`${call} failed: ${errnoName(errno)}`);
  }
  get code(): string {
    return errnoName(this.errno);
  }
}

const ERRNO_NAMES: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 3: "ESRCH", 9: "EBADF", 13: "EACCES", 22: "EINVAL", 24: "EMFILE", 38: "ENOSYS" };
function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}

/** pidfd_open(pid, 0): a file descriptor bound to this process, not to its number. */
export function pidfdOpen(pid: number): number {
  const fd = libc().syscall(SYS_PIDFD_OPEN, pid, 0, 0, 0);
  if (fd < 0) throw new SysError("pidfd_open", errno());
  return fd;
}

/**
 * True while the process the pidfd refers to exists (running or a zombie not yet reaped): while it
 * does, its pid number cannot be given to another process. pidfd_send_signal(fd, 0, NULL, 0).
 */
export function pidfdAlive(fd: number): boolean {
  if (libc().syscall(SYS_PIDFD_SEND_SIGNAL, fd, 0, 0, 0) === 0) return true;
  const e = errno();
  if (e === ESRCH) return false;
  throw new SysError("pidfd_send_signal", e);
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/** clock ticks per second (`getconf CLK_TCK`), the unit of /proc/pid/stat's start time. */
export function clockTicksPerSecond(): number {
  const n = libc().sysconf(SC_CLK_TCK);
  return n > 0 ? n : 100;
}

/** What sluice reads from `struct statx` (same layout on every architecture). */
export interface StatxResult {
  /** dev_t encoded like glibc's makedev() (what Node's `stat().dev` reports). */
  dev: number;
  ino: number;
  /** Exact inode number as decimal text (ino may exceed 2^53 on some filesystems). */
  inoText: string;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  size: number;
  /** `sec.nsec`, exact. */
  mtime: string;
  ctime: string;
}

/**
 * A reusable statx(2) call. One instance owns one 256-byte buffer; `path` variants take a
 * NUL-terminated buffer so hot paths build it once.
 */
export class Statx {
  readonly #buf = new Uint8Array(256);
  readonly #ptr = ptr(this.#buf);
  static readonly #empty = new Uint8Array(1);
  static readonly #emptyPtr = ptr(Statx.#empty);

  /** statx(AT_FDCWD, path) following symlinks (so `/proc/P/exe` gives the executable itself). Returns errno on failure (0 on success). */
  pathRaw(cpath: Uint8Array): number {
    return libc().statx(AT_FDCWD, ptr(cpath), 0, STATX_BASIC_STATS, this.#ptr) === 0 ? 0 : errno() || EINVAL;
  }

  /** pathRaw with a pointer to a NUL-terminated path the caller keeps alive (hot paths). */
  pathRawPtr(cpath: Pointer): number {
    return libc().statx(AT_FDCWD, cpath, 0, STATX_BASIC_STATS, this.#ptr) === 0 ? 0 : errno() || EINVAL;
  }

  /** statx of an open file descriptor (AT_EMPTY_PATH). */
  fd(fd: number): StatxResult {
    if (libc().statx(fd, Statx.#emptyPtr, AT_EMPTY_PATH, STATX_BASIC_STATS, this.#ptr) !== 0) throw new SysError("statx", errno());
    return this.result();
  }

  path(path: string): StatxResult {
    const e = this.pathRaw(cString(path));
    if (e !== 0) throw new SysError("statx", e);
    return this.result();
  }

  /** Fields of the last successful call (cheap accessors for the hot path). */
  get ino(): number {
    return u64(this.#ptr, 32);
  }
  get devMajor(): number {
    return read.u32(this.#ptr, 136);
  }
  get devMinor(): number {
    return read.u32(this.#ptr, 140);
  }
  get uid(): number {
    return read.u32(this.#ptr, 20);
  }
  get gid(): number {
    return read.u32(this.#ptr, 24);
  }

  result(): StatxResult {
    const p = this.#ptr;
    return {
      dev: makedev(read.u32(p, 136), read.u32(p, 140)),
      ino: u64(p, 32),
      inoText: read.u64(p, 32).toString(),
      nlink: read.u32(p, 16),
      uid: read.u32(p, 20),
      gid: read.u32(p, 24),
      mode: read.u16(p, 28),
      size: u64(p, 40),
      mtime: timestamp(p, 112),
      ctime: timestamp(p, 96),
    };
  }
}

function u64(p: Pointer, offset: number): number {
  return read.u32(p, offset) + read.u32(p, offset + 4) * 2 ** 32;
}

function timestamp(p: Pointer, offset: number): string {
  return `${read.i64(p, offset)}.${String(read.u32(p, offset + 8)).padStart(9, "0")}`;
}

/** glibc's makedev(major, minor), in arithmetic that stays exact in a double. */
export function makedev(major: number, minor: number): number {
  const low = ((major & 0xfff) << 8) | (minor & 0xff);
  const mid = (minor >>> 8) * 2 ** 20; // (minor & ~0xff) << 12
  const high = Math.floor(major / 0x1000) * 2 ** 44; // (major & ~0xfff) << 32
  return high + mid + low;
}

export function cString(s: string): Uint8Array {
  return Buffer.from(`${s}\0`);
}

/** statfs f_type of pidfs (Linux 6.9+), "PIDF". */
const PIDFS_MAGIC = 0x50494446;

/**
 * Whether pidfds carry a per-process inode number (pidfs, Linux 6.9+): then (pid, pidfd inode)
 * names one process for the whole boot, even two started in the same clock tick. On older kernels
 * every pidfd shares one anonymous inode and only the start time is available. Decided by
 * fstatfs(2) of a pidfd for ourselves (f_type is the first field of struct statfs).
 */
let pidfsProbe: boolean | undefined;
export function pidfdInodesUnique(): boolean {
  if (pidfsProbe !== undefined) return pidfsProbe;
  const fd = pidfdOpen(process.pid);
  try {
    const buf = new BigInt64Array(16); // struct statfs is 120 bytes on 64-bit Linux
    const rc = libc().fstatfs(fd, ptr(buf));
    pidfsProbe = rc === 0 && Number(buf[0]) === PIDFS_MAGIC;
  } finally {
    closeFd(fd);
  }
  return pidfsProbe;
}
