/**
 * Who is on the other end of an accepted unix socket, read from the kernel at accept time.
 *
 * - `SO_PEERCRED` (socket(7)): pid/uid/gid of the process that called connect(), recorded by the
 *   kernel at that moment. The peer cannot forge it.
 * - `SO_PEERPIDFD` (Linux ≥ 6.5): a pidfd for that same process. After attestation has read
 *   /proc/<pid>, `stillAlive()` asks the pidfd whether the process still exists: a live process
 *   holds its pid, so the facts read were its own and not those of a process that recycled the pid
 *   (the attack: connect, pass the fd to a child, exit, wait for a privileged workload to get the
 *   pid). On older kernels the pidfd comes from `pidfd_open(pid)` right after accept, which leaves
 *   the window between connect() and accept(); without pidfds at all nothing can be checked.
 *
 * Reached through bun:ffi on glibc: Bun's node:net sockets expose their fd as `_handle.fd`.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync } from "node:fs";
import type { Socket } from "node:net";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const SO_PEERPIDFD = 77;
/** Same numbers on every architecture (added after the syscall table unification). */
const SYS_PIDFD_SEND_SIGNAL = 424n;
const SYS_PIDFD_OPEN = 434n;
const ESRCH = 3;

export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

export type PidfdSource = "SO_PEERPIDFD" | "pidfd_open" | "none";

export interface ConnectionPeer extends PeerCredentials {
  /** How the liveness check is anchored (see the file comment). */
  readonly pidfdSource: PidfdSource;
  /** The pidfd (owned here; closed by release()), or undefined without one. */
  readonly pidfd: number | undefined;
  /** false once the process that connected has exited; true while it lives or when it cannot be known. */
  stillAlive(): boolean;
  /** Closes the pidfd; call when the connection closes. */
  release(): void;
}

type Libc = {
  getsockopt(fd: number, level: number, name: number, value: Uint8Array, len: Uint32Array): number;
  syscall(n: bigint, a: bigint, b: bigint, c: bigint, d: bigint): bigint;
  errno(): number;
};
let libc: Libc | undefined;

function getLibc(): Libc {
  if (libc) return libc;
  const { symbols } = dlopen("libc.so.6", {
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    // glibc's syscall() is assembly that never touches vector registers: calling the variadic
    // function through a fixed signature is safe on x86-64 and aarch64.
    syscall: { args: [FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64, FFIType.i64], returns: FFIType.i64 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  libc = {
    getsockopt: (fd, level, name, value, len) => symbols.getsockopt(fd, level, name, value, len),
    syscall: (n, a, b, c, d) => BigInt(symbols.syscall(n, a, b, c, d)),
    // Read right after the failing call: any later libc call may overwrite errno.
    errno: () => {
      const p = symbols.__errno_location();
      return p === null ? 0 : read.i32(p, 0);
    },
  };
  return libc;
}

/** The fd behind a node:net socket in Bun, or undefined when this runtime does not expose it. */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

export class PeerCredentialsError extends Error {
  readonly code = "ERR_PEERCRED";
}

/** SO_PEERCRED of a connected unix socket fd. */
export function readPeerCredentials(fd: number): PeerCredentials {
  const c = getLibc();
  const ucred = new Uint8Array(12); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
  const len = new Uint32Array([ucred.length]);
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ucred, len) !== 0) {
    throw new PeerCredentialsError(`getsockopt(SO_PEERCRED) failed: errno ${c.errno()}`);
  }
  if (len[0] !== 12) throw new PeerCredentialsError(`getsockopt(SO_PEERCRED) returned ${len[0]} bytes, expected 12`);
  const view = new DataView(ucred.buffer);
  const pid = view.getInt32(0, true);
  // pid 0: the peer is in a pid namespace we cannot see (or the socket is not connected).
  if (pid <= 0) throw new PeerCredentialsError(`SO_PEERCRED reported pid ${pid}: the peer is not visible from this pid namespace`);
  return { pid, uid: view.getUint32(4, true), gid: view.getUint32(8, true) };
}

/** Credentials plus a liveness anchor for an accepted socket. Throws PeerCredentialsError. */
export function peerOfSocket(socket: Socket): ConnectionPeer {
  const fd = socketFd(socket);
  if (fd === undefined) throw new PeerCredentialsError("the runtime does not expose the accepted socket's fd");
  const creds = readPeerCredentials(fd);
  const c = getLibc();

  let pidfd = -1;
  let source: PidfdSource = "none";
  const out = new Uint8Array(4);
  const len = new Uint32Array([4]);
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, out, len) === 0 && len[0] === 4) {
    pidfd = new DataView(out.buffer).getInt32(0, true);
    source = "SO_PEERPIDFD";
  } else {
    const r = Number(c.syscall(SYS_PIDFD_OPEN, BigInt(creds.pid), 0n, 0n, 0n));
    if (r >= 0) {
      pidfd = r;
      source = "pidfd_open";
    } else if (c.errno() === ESRCH) {
      // Already gone: nothing this connection says can be trusted to be about that pid.
      return { ...creds, pidfdSource: "pidfd_open", pidfd: undefined, stillAlive: () => false, release: () => {} };
    }
  }

  let released = false;
  return {
    ...creds,
    pidfdSource: source,
    get pidfd() {
      return pidfd >= 0 && !released ? pidfd : undefined;
    },
    stillAlive: () => {
      if (pidfd < 0 || released) return pidfd < 0;
      // Signal 0 = existence check. ESRCH once the process has been reaped (a zombie still holds its pid).
      const r = c.syscall(SYS_PIDFD_SEND_SIGNAL, BigInt(pidfd), 0n, 0n, 0n);
      return r === 0n || c.errno() !== ESRCH;
    },
    release: () => {
      if (released || pidfd < 0) return;
      released = true;
      try {
        closeSync(pidfd);
      } catch {
        // already closed
      }
    },
  };
}
