/**
 * The kernel's decision procedure (egress.bpf.c `decide`) over compiled map contents, in
 * TypeScript: the reference the differential test holds against PolicySnapshot.decideEgress, and
 * what `policy explain` can use to say what the kernel will do.
 */
import { parseIP } from "../../policy/index.ts";
import { PROTO_MASK, RANGE_FLAGS, WL_FLAGS } from "../layout.ts";
import { bitsOf, contains, type Prefix } from "./prefixes.ts";
import type { KernelPolicy, LpmEntry } from "./types.ts";
import { UNMANAGED } from "./workload-ids.ts";

export interface SimulatedDecision {
  /**
   * `redirect`: a TCP connect to an intercepted Service address of a managed workload; the kernel
   * rewrites it to the proxy, which is allowed (through the proxy) — the policy's "allow" for that
   * Service. A REDIRECT match without a proxy in the policy is `deny`, as in the kernel.
   */
  readonly verdict: "allow" | "deny" | "audit" | "redirect";
  /** The workload the decision used (an unknown id falls back to 0). */
  readonly workload: number;
  /** The longest-prefix entry that matched the address, if any. */
  readonly entry?: LpmEntry;
}

function protoBit(protocol: "tcp" | "udp" | number): number {
  if (protocol === "tcp" || protocol === 6) return PROTO_MASK.TCP;
  if (protocol === "udp" || protocol === 17) return PROTO_MASK.UDP;
  return PROTO_MASK.OTHER;
}

function entryPrefix(e: LpmEntry): Prefix {
  let v = 0n;
  for (const b of e.addr) v = (v << 8n) | BigInt(b);
  return { family: e.family, len: e.prefixLen, value: v };
}

/** Per (workload, family): entries longest prefix first, with their parsed prefixes. */
type Index = Map<string, Array<{ e: LpmEntry; p: Prefix }>>;
const indexes = new WeakMap<readonly LpmEntry[], Index>();

function indexOf(entries: readonly LpmEntry[]): Index {
  let idx = indexes.get(entries);
  if (!idx) {
    idx = new Map();
    for (const e of entries) {
      const k = `${e.workload}/${e.family}`;
      let list = idx.get(k);
      if (!list) idx.set(k, (list = []));
      list.push({ e, p: entryPrefix(e) });
    }
    for (const list of idx.values()) list.sort((a, b) => b.e.prefixLen - a.e.prefixLen);
    indexes.set(entries, idx);
  }
  return idx;
}

/** Longest-prefix match among `entries` for (workload, address), as the LPM trie answers. */
export function lookupLpm(entries: readonly LpmEntry[], workload: number, family: 4 | 6, addr: bigint): LpmEntry | undefined {
  for (const { e, p } of indexOf(entries).get(`${workload}/${family}`) ?? []) {
    if (p.len <= bitsOf(family) && contains(p, addr)) return e;
  }
  return undefined;
}

/** As egress.bpf.c rule_match: the first matching range decides, then all_ports_mask. */
export function ruleMatch(e: LpmEntry, port: number, bit: number): "allow" | "redirect" | undefined {
  const r = e.value.ranges.find((r) => r.protoMask & bit && port >= r.lo && port <= r.hi);
  if (r) return (r.flags ?? 0) & RANGE_FLAGS.REDIRECT ? "redirect" : "allow";
  if (e.value.allPortsMask & bit && port !== 0) return "allow";
  return undefined;
}

export function ruleAllows(e: LpmEntry, port: number, bit: number): boolean {
  return ruleMatch(e, port, bit) === "allow";
}

/** What the kernel decides for a connect()/sendmsg() from `workload` to `address`:`port`. */
export function simulateKernelDecision(policy: KernelPolicy, workload: number, address: string, port: number, protocol: "tcp" | "udp" | number): SimulatedDecision {
  const ip = parseIP(address.startsWith("[") ? address.slice(1, -1) : address);
  if (!ip) throw new TypeError(`not an IP address: ${address}`);
  let w = workload;
  let cfg = policy.workloads.get(w);
  if (!cfg && w !== UNMANAGED) cfg = policy.workloads.get((w = UNMANAGED));
  if (!cfg) return { verdict: w === UNMANAGED ? "allow" : "deny", workload: w };
  if ((cfg.flags & (WL_FLAGS.ALLOW_ALL | WL_FLAGS.AUDIT)) === WL_FLAGS.ALLOW_ALL) return { verdict: "allow", workload: w };
  const entry = ip.family === 4 ? lookupLpm(policy.rulesV4, w, 4, BigInt(ip.value)) : lookupLpm(policy.rulesV6, w, 6, ip.value);
  const bit = protoBit(protocol);
  const m = entry ? ruleMatch(entry, port, bit) : undefined;
  if (m === "allow") return { verdict: "allow", workload: w, entry };
  // Redirect: TCP only (a connect), and only with a proxy to redirect to (fail closed otherwise).
  if (m === "redirect") return { verdict: bit === PROTO_MASK.TCP && (policy.proxy?.port ?? 0) !== 0 ? "redirect" : "deny", workload: w, entry };
  const verdict = cfg.flags & WL_FLAGS.AUDIT ? "audit" : "deny";
  return entry ? { verdict, workload: w, entry } : { verdict, workload: w };
}
