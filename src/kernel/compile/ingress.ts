/**
 * Services with `inbound.onlyThroughSluice` → the XDP ingress tries (see sluice_ingress_v4 in
 * bpf/include/sluice_shared.h): per protected (port, protocol) a PROTECTED marker with no source
 * bits, in both families, and an ALLOW entry per `allowFrom` block. TCP and UDP are both protected:
 * "reachable only through sluice" leaves no protocol open on the port. An allowFrom block of
 * length 0 lands on the marker's key and wins (the port is then open to that whole family).
 */
import type { PolicySnapshot } from "../../policy/index.ts";
import { INGRESS_VERDICTS, LIMITS } from "../layout.ts";
import { KernelCompileError } from "./errors.ts";
import { cidrPrefix, prefixBytes, type Prefix } from "./prefixes.ts";
import type { Family } from "./types.ts";

export interface IngressEntry {
  readonly family: Family;
  readonly port: number;
  /** 6 TCP or 17 UDP. */
  readonly proto: number;
  readonly prefixLen: number;
  readonly addr: Uint8Array;
  /** INGRESS_VERDICTS.PROTECTED or .ALLOW. */
  readonly verdict: number;
  /** The Service this entry protects (first one, when several share the port). */
  readonly service: string;
}

const PROTOCOLS = [6, 17] as const;

export function compileIngress(snapshot: PolicySnapshot): { v4: IngressEntry[]; v6: IngressEntry[] } {
  const byKey = new Map<string, IngressEntry>();
  const put = (e: IngressEntry) => {
    const key = `${e.family}/${e.port}/${e.proto}/${e.prefixLen}/${e.addr.join(".")}`;
    const had = byKey.get(key);
    if (!had || (had.verdict === INGRESS_VERDICTS.PROTECTED && e.verdict === INGRESS_VERDICTS.ALLOW)) byKey.set(key, e);
  };
  for (const svc of snapshot.services()) {
    if (!svc.inbound?.onlyThroughSluice) continue;
    const allow: Prefix[] = svc.inbound.allowFrom.map(cidrPrefix);
    for (const port of new Set(svc.addresses.map((a) => a.port))) {
      for (const proto of PROTOCOLS) {
        for (const family of [4, 6] as const) {
          put({ family, port, proto, prefixLen: 0, addr: new Uint8Array(family === 4 ? 4 : 16), verdict: INGRESS_VERDICTS.PROTECTED, service: svc.name });
        }
        for (const p of allow) put({ family: p.family, port, proto, prefixLen: p.len, addr: prefixBytes(p), verdict: INGRESS_VERDICTS.ALLOW, service: svc.name });
      }
    }
  }
  const all = [...byKey.values()];
  const v4 = all.filter((e) => e.family === 4);
  const v6 = all.filter((e) => e.family === 6);
  for (const [family, list] of [[4, v4], [6, v6]] as const) {
    if (list.length > LIMITS.INGRESS_MAX)
      throw new KernelCompileError(`inbound protection needs ${list.length} IPv${family} entries, more than the kernel map holds (${LIMITS.INGRESS_MAX})`, "(inbound)", `IPv${family}`, []);
  }
  return { v4, v6 };
}
