/**
 * The slow, talkative twin of decideEgress: evaluates each rule on its own and says why it did or
 * did not match. Its verdict is decideEgress's (tests check that the two agree).
 */
import { formatPos } from "../../schema/index.ts";
import { formatLabels } from "../labels.ts";
import { newParsedDestination, parseDestination, type ParsedDestination } from "./destination.ts";
import type { MatchRule } from "./matcher.ts";
import type { CompiledService, Destination, EgressDecision, EgressExplanation, RuleCheck } from "./model.ts";
import { formatPorts } from "./rule-text.ts";
import type { SnapshotData } from "./snapshot.ts";

interface Probe {
  readonly p: ParsedDestination;
  readonly port: number;
  readonly proto: "tcp" | "udp";
}

function targetDetail(m: MatchRule, probe: Probe, services: ReadonlyMap<string, CompiledService>): { ok: boolean; detail: string } {
  const { p, port } = probe;
  const t = m.rule.target;
  if (t.type === "host") {
    if (p.kind !== "hostname") return { ok: false, detail: "the destination is an address; host rules match names only" };
    return p.key === t.host ? { ok: true, detail: `host is ${t.host}` } : { ok: false, detail: `host ${p.key} is not ${t.host}` };
  }
  if (t.type === "cidr") {
    const c = m.cidr!;
    if (p.kind === "hostname") return { ok: false, detail: "the destination is a name; cidr rules match addresses only" };
    if ((p.kind === "ipv4") !== (c.family === 4)) return { ok: false, detail: `${p.key} is ${p.kind === "ipv4" ? "IPv4" : "IPv6"}, ${c.text} is not` };
    const x = p.kind === "ipv4" ? BigInt(p.v4) : p.v6!;
    return x >= c.first && x <= c.last ? { ok: true, detail: `${p.key} is in ${c.text}` } : { ok: false, detail: `${p.key} is not in ${c.text}` };
  }
  const selected = m.rule.services.map((n) => services.get(n)!);
  if (selected.length === 0) return { ok: false, detail: `no Service has labels ${formatLabels(t.labels)}` };
  for (const svc of selected)
    if (svc.addresses.some((a) => a.address === p.key && a.port === port)) return { ok: true, detail: `Service "${svc.name}" is at ${p.key}:${port}` };
  const sameHost = selected.find((svc) => svc.addresses.some((a) => a.address === p.key));
  if (sameHost) {
    const ports = sameHost.addresses.filter((a) => a.address === p.key).map((a) => a.port);
    return { ok: false, detail: `Service "${sameHost.name}" is at ${p.key} on port ${ports.join(", ")}, not ${port}` };
  }
  const names = selected.slice(0, 5).map((s) => `"${s.name}"`).join(", ");
  return { ok: false, detail: `none of the selected Services (${names}${selected.length > 5 ? ", …" : ""}) is at ${p.key}:${port}` };
}

function checkRule(m: MatchRule, probe: Probe, services: ReadonlyMap<string, CompiledService>): RuleCheck {
  const rule = m.rule;
  const ref = { kind: rule.kind, origin: rule.origin, index: rule.index, file: rule.file, line: rule.line, col: rule.col, text: rule.text };
  const target = targetDetail(m, probe, services);
  if (!target.ok) return { rule: ref, matched: false, detail: target.detail };
  if (rule.ports.length > 0 && !rule.ports.some((r) => probe.port >= r.from && probe.port <= r.to))
    return { rule: ref, matched: false, detail: `${target.detail}, but port ${probe.port} is not in ${formatPorts(rule.ports)}` };
  if (rule.protocol !== "any" && rule.protocol !== probe.proto)
    return { rule: ref, matched: false, detail: `${target.detail}, but protocol ${probe.proto} is not ${rule.protocol}` };
  return { rule: ref, matched: true, detail: target.detail };
}

/** Checks rules in order until one matches; returns the checks and whether one matched. */
function walk(rules: readonly MatchRule[], probe: Probe, services: ReadonlyMap<string, CompiledService>, lines: string[], checks: RuleCheck[]): boolean {
  for (const [i, m] of rules.entries()) {
    const c = checkRule(m, probe, services);
    checks.push(c);
    lines.push(`  #${c.rule.index} ${c.rule.text} (${formatPos(c.rule)}): ${c.matched ? "MATCH" : "no match"}: ${c.detail}`);
    if (c.matched) {
      if (i + 1 < rules.length) lines.push(`  (${rules.length - i - 1} later rule(s) not evaluated: first match wins)`);
      return true;
    }
  }
  if (rules.length === 0) lines.push("  (no rules)");
  return false;
}

export function explainEgress(d: SnapshotData, workloadId: string | undefined, dest: Destination, decision: EgressDecision): EgressExplanation {
  const p = parseDestination(dest.host, newParsedDestination());
  const probe: Probe = { p, port: dest.port, proto: dest.protocol ?? "tcp" };
  const lines: string[] = [];
  const checks: RuleCheck[] = [];
  const kind = p.kind === "hostname" ? "host name" : p.kind === "ipv4" ? "IPv4 address" : "IPv6 address";
  lines.push(`destination: ${p.kind === "ipv6" ? `[${p.key}]` : p.key}:${dest.port}/${probe.proto} (${kind})`);
  const atService = d.servicesByAddress.get(p.key)?.get(dest.port);
  if (atService) lines.push(`service: ${atService.map((s) => `"${s.name}" (tls: ${s.tls})`).join(", ")}`);
  const entry = workloadId === undefined ? undefined : d.workloadById.get(workloadId);
  if (entry) {
    const w = entry.workload;
    lines.push(`workload: ${w.spiffeId}: WorkloadIdentity "${w.name}" at ${formatPos(w.source)}, enforcement: ${w.enforcement}`);
  } else {
    lines.push(`workload: ${workloadId ?? "(none)"}: not managed (no WorkloadIdentity has this ID)`);
  }
  const host = d.hostPolicy;
  lines.push(`HostPolicy${host.name ? ` "${host.name}"` : " (defaults)"} alwaysAllow, checked first:`);
  let matched = walk(d.alwaysRules, probe, d.serviceByName, lines, checks);
  if (!matched && entry) {
    lines.push(`WorkloadIdentity "${entry.workload.name}" egress:`);
    matched = walk(entry.rules, probe, d.serviceByName, lines, checks);
  } else if (!matched) {
    lines.push(`unmanaged processes: HostPolicy sets unmanaged: ${host.unmanaged}`);
  }
  lines.push(`verdict: ${decision.verdict}: ${decision.reason}`);
  return { ...decision, checks, text: lines.join("\n") + "\n" };
}
