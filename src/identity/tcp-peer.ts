/**
 * Which local process opened a loopback TCP connection that sluice accepted: the client end's
 * socket by its exact 4-tuple (inode and owning uid, from netlink sock_diag in one round trip;
 * /proc/net/tcp{,6} where sock_diag is unavailable), then the process whose /proc/PID/fd holds
 * `socket:[inode]` (./socket-owner.ts: a validated cache, then a scan of the uid's processes).
 * Returns nothing rather than a guess: no match, several processes holding the socket (an
 * inherited descriptor), or a socket in another network namespace all give undefined.
 *
 * The pid is a snapshot: feed it to `Attestor.identify` at once (it re-checks through a pidfd).
 */
import { parseIP, type IP } from "../policy/net/ip.ts";
import { findClientSocketInProcNet } from "./proc-net-tcp.ts";
import { lookupTcpSocket, SockDiagUnavailable, TCP_ESTABLISHED } from "./sock-diag.ts";
import { DEFAULT_PEER_SCAN, findSocketOwner, type PeerScanLimits } from "./socket-owner.ts";

export { DEFAULT_PEER_SCAN, type PeerScanLimits } from "./socket-owner.ts";

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

/** How the client's socket is found: "auto" = sock_diag, falling back to /proc/net/tcp if the kernel refuses. */
export type SocketLookup = "auto" | "sock-diag" | "proc-net";

let sockDiagWorks = true;

export function attestLoopbackPeer(connection: LoopbackConnection, limits: PeerScanLimits = DEFAULT_PEER_SCAN, lookup: SocketLookup = "auto"): LoopbackPeer | undefined {
  const remote = parseIP(stripBrackets(connection.remoteAddress));
  if (!remote || !isLoopback(remote)) return undefined;
  const local = connection.localAddress === undefined ? undefined : parseIP(stripBrackets(connection.localAddress));
  if (connection.localAddress !== undefined && !local) return undefined;
  const socket = findClientSocket(connection, remote, local, limits, lookup);
  if (!socket || socket.inode === 0) return undefined;
  const pid = findSocketOwner(socket.inode, socket.uid, connection.remotePort, limits);
  return pid === undefined ? undefined : { pid, uid: socket.uid, inode: socket.inode };
}

function findClientSocket(c: LoopbackConnection, remote: IP, local: IP | undefined, limits: PeerScanLimits, lookup: SocketLookup): { inode: number; uid: number } | undefined {
  // sock_diag sees sluice's own network namespace, like /proc/net/tcp; a /proc other than ours
  // (a test or container setting) keeps the procfs lookup so both halves read the same place.
  if (lookup === "proc-net" || (lookup === "auto" && (!sockDiagWorks || limits.proc !== "/proc"))) return findClientSocketInProcNet(c, remote, local, limits.proc);
  try {
    for (const listener of listenerCandidates(remote, local)) {
      const found = lookupTcpSocket({ family: remote.family, localAddress: bytesOf(remote), localPort: c.remotePort, remoteAddress: bytesOf(listener), remotePort: c.localPort });
      if (found?.state === TCP_ESTABLISHED) return found; // else a time-wait leftover of an older connection: try on
    }
  } catch (err) {
    if (!(err instanceof SockDiagUnavailable) || lookup === "sock-diag") throw err;
    sockDiagWorks = false;
    return findClientSocketInProcNet(c, remote, local, limits.proc);
  }
  // A wildcard listener reached through a less usual loopback address (127.0.0.5): only the
  // table scan can match "any loopback address" on our side.
  return local || lookup === "sock-diag" ? undefined : findClientSocketInProcNet(c, remote, local, limits.proc);
}

/**
 * The addresses the client may have dialled: the listener's own when known; for a wildcard
 * listener, the family's usual loopback address (127.0.0.1, ::1), then the client's own source
 * address (a client bound to 127.0.0.2 dialling 127.0.0.2).
 */
function listenerCandidates(remote: IP, local: IP | undefined): IP[] {
  if (local) return local.family === remote.family ? [local] : [];
  const usual: IP = remote.family === 4 ? { family: 4, value: 0x7f000001 } : { family: 6, value: 1n };
  return BigInt(usual.value) === BigInt(remote.value) ? [usual] : [usual, remote];
}

function bytesOf(ip: IP): Uint8Array {
  if (ip.family === 4) return new Uint8Array([ip.value >>> 24, (ip.value >>> 16) & 255, (ip.value >>> 8) & 255, ip.value & 255]);
  const out = new Uint8Array(16);
  let v = ip.value;
  for (let i = 15; i >= 0; i--, v >>= 8n) out[i] = Number(v & 255n);
  return out;
}

function isLoopback(ip: IP): boolean {
  return ip.family === 4 ? ip.value >>> 24 === 127 : ip.value === 1n;
}

function stripBrackets(s: string): string {
  return s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
}
