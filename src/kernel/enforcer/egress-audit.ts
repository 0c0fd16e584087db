/** CONNECT events (deny, audit) → audit records, rate-limited so a denial storm cannot flood the log. */
import type { AuditLog } from "../../audit/index.ts";
import { formatIP } from "../../policy/index.ts";

const AF_INET = 2;

/** The event's destination as text (AF_INET: 4 bytes; AF_INET6: 16, v4-mapped printed as such). */
export function addressText(family: number, addr: Uint8Array): string {
  if (family === AF_INET) return formatIP({ family: 4, value: ((addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!) >>> 0 });
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(addr[i] ?? 0);
  return formatIP({ family: 6, value: v });
}
import { VERDICTS, type SluiceEvent } from "../layout.ts";
import type { WorkloadIds } from "../workload-ids.ts";

const PROTO: Record<number, string> = { 6: "tcp", 17: "udp" };

export function egressAuditor(audit: AuditLog, ids: WorkloadIds, maxPerSecond = 200) {
  let windowStart = 0;
  let inWindow = 0;
  let suppressed = 0;
  return (e: SluiceEvent) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      if (suppressed > 0) audit.append({ kind: "egress.suppressed", decision: "info", details: { records: suppressed, reason: `more than ${maxPerSecond} egress records per second` } });
      windowStart = now;
      inWindow = 0;
      suppressed = 0;
    }
    if (++inWindow > maxPerSecond) {
      suppressed++;
      return;
    }
    const deny = e.verdict === VERDICTS.DENY;
    const address = addressText(e.family, e.addr);
    audit.append({
      kind: deny ? "egress.deny" : "egress.audit",
      decision: deny ? "deny" : "audit",
      ...(e.workload ? { subject: ids.spiffeIdOf(e.workload) ?? `workload#${e.workload}` } : {}),
      pid: e.tgid,
      uid: e.uid,
      details: { to: e.family === AF_INET ? `${address}:${e.dport}` : `[${address}]:${e.dport}`, protocol: PROTO[e.proto] ?? String(e.proto), comm: e.comm, rule: e.ruleId || undefined, generation: e.generation },
    });
  };
}
