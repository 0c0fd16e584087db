/**
 * Which local process opened a loopback TCP connection that sluice accepted: the client end's
 * socket in /proc/net/tcp{,6} (by its 4-tuple: inode and owning uid), then the process whose
 * /proc/PID/fd holds `socket:[inode]`. Bounded: at most `maxProcesses` processes and
 * `maxFdsPerProcess` descriptors each are looked at, processes of the socket's uid first.
 * Returns nothing rather than a guess: no match, several processes holding the socket (an
 * inherited descriptor), or a socket in another network namespace all give undefined.
 *
 * The pid is a snapshot: feed it to `Attestor.identify` at once (it re-checks through a pidfd).
 */
import { closeSync, openSync, readSync, readdirSync, readlinkSync, statSync } from "node:fs";
import { parseIP } from "../policy/net/ip.ts";

export interface LoopbackConnection {
  /** The client end (what the listener sees as remote). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The listener's end; the address may be omitted when the listener is bound to a wildcard. */
  readonly localAddress?: string;
  readonly localPort: number;
}

export interface LoopbackPeer {
  readonly pid: number;
  readonly uid: number;
  readonly inode: number;
}

export interface PeerScanLimits {
  readonly maxProcesses: number;
  readonly maxFdsPerProcess: number;
  /** procfs root (tests never change it; a container may). */
  readonly proc: string;
}

export const DEFAULT_PEER_SCAN: PeerScanLimits = { maxProcesses: 32_768, maxFdsPerProcess: 4_096, proc: "/proc" };

const TCP_ESTABLISHED = "01";

export function attestLoopbackPeer(connection: LoopbackConnection, limits: PeerScanLimits = DEFAULT_PEER_SCAN): LoopbackPeer | undefined {
  const remote = parseIP(stripBrackets(connection.remoteAddress));
  if (!remote || !isLoopback(remote)) return undefined;
  const local = connection.localAddress === undefined ? undefined : parseIP(stripBrackets(connection.localAddress));
  if (connection.localAddress !== undefined && !local) return undefined;
  const socket = findClientSocket(connection, remote, local, limits.proc);
  if (!socket) return undefined;
  const pid = findSocketOwner(socket.inode, socket.uid, limits);
  return pid === undefined ? undefined : { pid, uid: socket.uid, inode: socket.inode };
}

type Ip = NonNullable<ReturnType<typeof parseIP>>;

function isLoopback(ip: Ip): boolean {
  return ip.family === 4 ? ip.value >>> 24 === 127 : ip.value === 1n;
}

/** The client's socket: its local end is the remote end we saw, its remote end our listener. */
function findClientSocket(c: LoopbackConnection, remote: Ip, local: Ip | undefined, proc: string): { inode: number; uid: number } | undefined {
  const matches: { inode: number; uid: number }[] = [];
  // An IPv4 peer is in net/tcp, or in net/tcp6 as ::ffff:a.b.c.d (a dual-stack socket): look there only if needed.
  const files = remote.family === 6 ? ["net/tcp6"] : ["net/tcp", "net/tcp6"];
  for (const file of files) {
    if (matches.length > 0) break;
    const text = readProcFile(`${proc}/${file}`);
    if (text === undefined) continue;
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_ESTABLISHED) continue;
      const src = parseEndpoint(f[1]!);
      const dst = parseEndpoint(f[2]!);
      if (!src || !dst) continue;
      if (src.port !== c.remotePort || dst.port !== c.localPort) continue;
      if (!sameIp(src.ip, remote)) continue;
      if (local ? !sameIp(dst.ip, local) : !isLoopback(dst.ip)) continue;
      const inode = Number(f[9]);
      if (inode > 0) matches.push({ inode, uid: Number(f[7]) });
    }
  }
  return matches.length === 1 ? matches[0] : undefined;
}

const MAX_PROC_FILE_BYTES = 16 << 20;

/**
 * Reads a /proc/net file with few, large reads: each read() walks the kernel's whole socket hash
 * table (measured here: ~17 ms per file with readFileSync's small reads, ~5 ms with one big read).
 */
function readProcFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    let buffer = Buffer.allocUnsafe(1 << 20);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (buffer.length >= MAX_PROC_FILE_BYTES) return undefined;
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.toString("latin1", 0, length);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** `0100007F:1F90` (IPv4, host byte order words) or 32 hex digits for IPv6 → address and port. */
function parseEndpoint(text: string): { ip: Ip; port: number } | undefined {
  const [hex, portHex] = text.split(":");
  if (!hex || !portHex) return undefined;
  const port = parseInt(portHex, 16);
  if (hex.length === 8) return { ip: { family: 4, value: wordFromHost(hex) }, port };
  if (hex.length !== 32) return undefined;
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << 32n) | BigInt(wordFromHost(hex.slice(i * 8, i * 8 + 8)));
  // A v4-mapped address on a dual-stack socket (::ffff:127.0.0.1) is the IPv4 address.
  if (value >> 32n === 0xffffn) return { ip: { family: 4, value: Number(value & 0xffffffffn) }, port };
  return { ip: { family: 6, value }, port };
}

/** /proc/net/tcp prints each 32-bit word as the host (little-endian here) sees it in memory. */
function wordFromHost(hex: string): number {
  const b = Buffer.from(hex, "hex");
  return isLittleEndian ? b.readUInt32LE(0) : b.readUInt32BE(0);
}
const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function sameIp(a: Ip, b: Ip): boolean {
  return a.family === b.family && BigInt(a.value) === BigInt(b.value);
}

function findSocketOwner(inode: number, uid: number, limits: PeerScanLimits): number | undefined {
  const target = `socket:[${inode}]`;
  const pids = listPids(limits);
  const ownUidFirst = [...pids.filter((p) => p.uid === uid), ...pids.filter((p) => p.uid !== uid)];
  const holders: number[] = [];
  for (const { pid } of ownUidFirst) {
    if (holdsSocket(pid, target, limits)) holders.push(pid);
    // Two holders (a descriptor inherited across fork) cannot be told apart: refuse to guess.
    if (holders.length > 1) return undefined;
  }
  return holders[0];
}

function listPids(limits: PeerScanLimits): { pid: number; uid: number }[] {
  const out: { pid: number; uid: number }[] = [];
  for (const name of readdirSync(limits.proc)) {
    if (out.length >= limits.maxProcesses) break;
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      out.push({ pid: Number(name), uid: statSync(`${limits.proc}/${name}`).uid });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function holdsSocket(pid: number, target: string, limits: PeerScanLimits): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`${limits.proc}/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds.slice(0, limits.maxFdsPerProcess)) {
    try {
      if (readlinkSync(`${limits.proc}/${pid}/fd/${fd}`) === target) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

function stripBrackets(s: string): string {
  return s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
}
