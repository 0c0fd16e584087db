/**
 * What the proxy asks the kernel after accept(): where a redirected connection was really going,
 * and who opened it. connect4/6 stored the original destination and the process facts when they
 * redirected the socket; sockops copied them, at ACTIVE_ESTABLISHED (before accept() can return),
 * into `orig_dst` under the client's local port — the accepted socket's REMOTE port.
 *
 *   const dst = lookupOriginalDestination(kernel.origDst, { localPort: peer.port, family: 4 });
 *
 * `family` is the accepted connection's (4 or 6, or AF_INET/AF_INET6): a v4-mapped client
 * (AF_INET6 socket to ::ffff:a.b.c.d) was sent to the proxy's IPv4 address and is found under 4.
 * Entries are LRU and overwritten when the port is reused: look up right after accept().
 */
import type { OrigDstKey, SluiceRedirect } from "./layout.ts";

const AF_INET = 2;
const AF_INET6 = 10;

export interface OriginalDestination {
  /** The destination the client connect()ed to: IPv4 dotted (also for v4-mapped), IPv6 text otherwise. */
  readonly address: string;
  readonly port: number;
  /** Process id (tgid) and thread id of the connecting task. */
  readonly pid: number;
  readonly tid: number;
  readonly uid: number;
  readonly gid: number;
  readonly cgroupId: bigint;
  /** Kernel workload id (0 = unmanaged; map it to a SPIFFE ID through the workload id registry). */
  readonly workload: number;
  /** The kernel rule_id behind the redirect (rule table of the generation). */
  readonly ruleId: number;
  /** The client socket's family (4 or 6) and whether it used a v4-mapped address. */
  readonly family: 4 | 6;
  readonly v4Mapped: boolean;
}

/** Anything with a typed lookup over orig_dst (BpfMap<OrigDstKey, SluiceRedirect>). */
export interface OrigDstMap {
  lookup(key: OrigDstKey): SluiceRedirect | undefined;
}

function familyOf(f: number): number {
  if (f === 4 || f === AF_INET) return AF_INET;
  if (f === 6 || f === AF_INET6) return AF_INET6;
  throw new RangeError(`family ${f}: expected 4, 6, AF_INET (2) or AF_INET6 (10)`);
}

function ipv6Text(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // Longest run of zero words → "::" (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return words.join(":");
  return `${words.slice(0, best).join(":")}::${words.slice(best + bestLen).join(":")}`;
}

export function decodeOriginalDestination(r: SluiceRedirect): OriginalDestination {
  const v4 = r.family === AF_INET || r.v4Mapped;
  const a = r.addr;
  const address = v4 ? (r.v4Mapped ? [a[12], a[13], a[14], a[15]] : [a[0], a[1], a[2], a[3]]).join(".") : ipv6Text(a);
  return {
    address,
    port: r.port,
    pid: r.pid,
    tid: r.tid,
    uid: r.uid,
    gid: r.gid,
    cgroupId: r.cgroupId,
    workload: r.workload,
    ruleId: r.ruleId,
    family: r.family === AF_INET ? 4 : 6,
    v4Mapped: r.v4Mapped,
  };
}

/** The original destination of the redirected connection whose client port is `localPort`, or undefined. */
export function lookupOriginalDestination(map: OrigDstMap, key: { localPort: number; family: number }): OriginalDestination | undefined {
  if (!Number.isInteger(key.localPort) || key.localPort < 1 || key.localPort > 65_535) throw new RangeError(`localPort ${key.localPort}`);
  const r = map.lookup({ family: familyOf(key.family), port: key.localPort });
  return r ? decodeOriginalDestination(r) : undefined;
}
