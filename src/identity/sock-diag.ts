/**
 * One TCP socket by its exact 4-tuple, from the kernel in one netlink round trip
 * (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY with an inet_diag_req_v2 naming the socket, no dump):
 * its state, owning uid and inode. Replaces reading /proc/net/tcp, which walks the whole socket
 * hash table (~4 ms per file here, more under load). Through bun:ffi on glibc; loaded on first use.
 *
 * Layouts (include/uapi/linux/inet_diag.h, netlink.h; the same on every Linux architecture):
 * nlmsghdr 16 bytes; inet_diag_req_v2 56 (family, protocol, ext, pad, states u32, inet_diag_sockid
 * 48: sport/dport big-endian, src[4]/dst[4] big-endian words, if, cookie[2]); the reply's
 * inet_diag_msg: family, state, timer, retrans, sockid at 4, expires 52, rqueue 56, wqueue 60,
 * uid 64, inode 68.
 */
import { dlopen, FFIType, ptr, read, type Pointer } from "bun:ffi";

const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 1;
const NLMSG_ERROR = 2;
const IPPROTO_TCP = 6;
const MSG_DONTWAIT = 0x40;
const ENOENT = 2;
const NLMSG_HDRLEN = 16;
const REQUEST_LEN = NLMSG_HDRLEN + 56;
const REPLY_MIN_LEN = NLMSG_HDRLEN + 72;

/** One end of a TCP connection as the socket that owns it sees it. */
export interface TcpTuple {
  readonly family: 4 | 6;
  /** 4 bytes (IPv4) or 16 bytes (IPv6), network order. */
  readonly localAddress: Uint8Array;
  readonly localPort: number;
  readonly remoteAddress: Uint8Array;
  readonly remotePort: number;
}

export interface DiagSocket {
  /** TCP state (1 = ESTABLISHED). */
  readonly state: number;
  readonly uid: number;
  /** 0 for sockets without a file (time-wait, request sockets). */
  readonly inode: number;
}

export const TCP_ESTABLISHED = 1;

/** Why sock_diag cannot answer at all (then the caller falls back to /proc/net/tcp). */
export class SockDiagUnavailable extends Error {}

type Symbols = {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Pointer, len: number, flags: number, addr: Pointer, addrlen: number): number;
  recv(fd: number, buf: Pointer, len: number, flags: number): number;
  close(fd: number): number;
  __errno_location(): Pointer | null;
};
let symbols: Symbols | undefined;

function libc(): Symbols {
  if (symbols) return symbols;
  const { symbols: s } = dlopen("libc.so.6", {
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  symbols = {
    socket: (d, t, p) => s.socket(d, t, p),
    sendto: (fd, buf, len, flags, addr, addrlen) => Number(s.sendto(fd, buf, len, flags, addr, addrlen)),
    recv: (fd, buf, len, flags) => Number(s.recv(fd, buf, len, flags)),
    close: (fd) => s.close(fd),
    __errno_location: () => s.__errno_location() as Pointer | null,
  };
  return symbols;
}

function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : read.i32(p, 0);
}

// Reused buffers: calls are synchronous, so one request and one reply buffer suffice.
const request = new Uint8Array(REQUEST_LEN);
const requestView = new DataView(request.buffer);
const reply = new Uint8Array(8192);
const replyView = new DataView(reply.buffer);
const kernelAddress = new Uint8Array(12); // sockaddr_nl {AF_NETLINK, pad, pid 0 = the kernel, groups 0}
new DataView(kernelAddress.buffer).setUint16(0, AF_NETLINK, true);
let sequence = 0;

/**
 * The socket with exactly this tuple in sluice's network namespace, or undefined when the kernel
 * has none. Throws SockDiagUnavailable when netlink sock_diag cannot be used here.
 */
export function lookupTcpSocket(tuple: TcpTuple): DiagSocket | undefined {
  const lib = libc();
  const fd = lib.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) throw new SockDiagUnavailable(`socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed: errno ${errno()}`);
  try {
    const seq = (sequence = (sequence + 1) >>> 0);
    fillRequest(tuple, seq);
    if (lib.sendto(fd, ptr(request), REQUEST_LEN, 0, ptr(kernelAddress), kernelAddress.length) !== REQUEST_LEN) throw new SockDiagUnavailable(`sock_diag request failed: errno ${errno()}`);
    // The kernel answers inside sendto (sock_diag runs synchronously), so the reply is already queued.
    const n = lib.recv(fd, ptr(reply), reply.length, MSG_DONTWAIT);
    if (n < NLMSG_HDRLEN) throw new SockDiagUnavailable(`sock_diag reply missing: errno ${n < 0 ? errno() : "short"}`);
    return parseReply(n, seq, tuple);
  } finally {
    lib.close(fd);
  }
}

function fillRequest(t: TcpTuple, seq: number): void {
  request.fill(0);
  const v = requestView;
  v.setUint32(0, REQUEST_LEN, true);
  v.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
  v.setUint16(6, NLM_F_REQUEST, true);
  v.setUint32(8, seq, true);
  const r = NLMSG_HDRLEN;
  request[r] = t.family === 4 ? AF_INET : AF_INET6;
  request[r + 1] = IPPROTO_TCP;
  v.setUint32(r + 4, 0xffffffff, true); // every state: the reply's state is checked by the caller
  const id = r + 8;
  v.setUint16(id, t.localPort, false);
  v.setUint16(id + 2, t.remotePort, false);
  request.set(t.localAddress, id + 4);
  request.set(t.remoteAddress, id + 20);
  v.setUint32(id + 40, 0xffffffff, true); // INET_DIAG_NOCOOKIE
  v.setUint32(id + 44, 0xffffffff, true);
}

function parseReply(n: number, seq: number, t: TcpTuple): DiagSocket | undefined {
  const v = replyView;
  const length = v.getUint32(0, true);
  const type = v.getUint16(4, true);
  if (v.getUint32(8, true) !== seq || length > n) throw new SockDiagUnavailable("sock_diag reply out of sequence");
  if (type === NLMSG_ERROR) {
    const error = -v.getInt32(NLMSG_HDRLEN, true);
    if (error === ENOENT) return undefined;
    throw new SockDiagUnavailable(`sock_diag refused the request: errno ${error}`);
  }
  if (type !== SOCK_DIAG_BY_FAMILY || length < REPLY_MIN_LEN) throw new SockDiagUnavailable(`unexpected sock_diag reply type ${type}`);
  const m = NLMSG_HDRLEN;
  // The kernel looked the socket up by this tuple; check it says so (ports, and addresses as the
  // socket's family prints them: an IPv6 socket on a v4 connection shows ::ffff:a.b.c.d).
  if (v.getUint16(m + 4, false) !== t.localPort || v.getUint16(m + 6, false) !== t.remotePort) return undefined;
  if (!sameAddress(reply.subarray(m + 8, m + 24), t.localAddress) || !sameAddress(reply.subarray(m + 24, m + 40), t.remoteAddress)) return undefined;
  return { state: reply[m + 1]!, uid: v.getUint32(m + 64, true), inode: v.getUint32(m + 68, true) };
}

/** 16 bytes of sockid address vs 4 or 16 expected bytes (IPv4 in the first word, or v4-mapped). */
function sameAddress(got: Uint8Array, want: Uint8Array): boolean {
  if (want.length === 16) return got.every((b, i) => b === want[i]);
  const first = got[0] === want[0] && got[1] === want[1] && got[2] === want[2] && got[3] === want[3];
  if (first) return true;
  const mapped = got.subarray(0, 10).every((b) => b === 0) && got[10] === 0xff && got[11] === 0xff;
  return mapped && got[12] === want[0] && got[13] === want[1] && got[14] === want[2] && got[15] === want[3];
}
