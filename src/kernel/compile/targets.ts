/**
 * One compiled egress rule → the address prefixes it allows and on which ports/protocols.
 *   cidr      → the prefix, the rule's ports (none = every port), its protocol
 *   services  → each selected Service address: IP literal as /32 or /128, host name resolved;
 *               the address's own port, the rule's protocol; `intercepted` unless the Service
 *               is `tls: passthrough` (compile turns that into REDIRECT ranges)
 *   host      → the name resolved, the rule's ports and protocol
 * A name that resolves to nothing is a warning and allows nothing (never widened).
 */
import type { CompiledRule, CompiledService, PolicySnapshot } from "../../policy/index.ts";
import { PortSet } from "./ports.ts";
import { cidrPrefix, hostPrefix, type Prefix } from "./prefixes.ts";
import type { KernelWarning, ResolveFn } from "./types.ts";

export interface Target {
  readonly prefix: Prefix;
  readonly ports: PortSet;
  /** A Service address whose Service has `tls: intercept` or `tls: upgrade`: its TCP connects belong to the proxy. */
  readonly intercepted?: boolean;
}

function resolveHost(host: string, resolve: ResolveFn, warn: (code: KernelWarning["code"], message: string) => void, what: string): Prefix[] {
  const r = resolve(host);
  const out: Prefix[] = [];
  for (const a of [...(r?.v4 ?? []), ...(r?.v6 ?? [])]) {
    const p = hostPrefix(a);
    if (p) out.push(p);
    else warn("bad-address", `${what}: resolver returned ${JSON.stringify(a)} for ${host}, which is not an IP address; ignored`);
  }
  if (out.length === 0) warn("unresolved-host", `${what}: ${host} did not resolve to any address; the kernel allows nothing for it until it does`);
  return out;
}

export function ruleTargets(
  rule: CompiledRule,
  services: (name: string) => CompiledService | undefined,
  resolve: ResolveFn,
  warn: (code: KernelWarning["code"], message: string) => void,
): Target[] {
  const where = `${rule.file}:${rule.line} (${rule.text})`;
  const t = rule.target;
  if (t.type === "cidr") return [{ prefix: cidrPrefix(t.cidr), ports: PortSet.of(rule.protocol, rule.ports) }];
  if (t.type === "host") {
    const ports = PortSet.of(rule.protocol, rule.ports);
    return resolveHost(t.host, resolve, warn, where).map((prefix) => ({ prefix, ports }));
  }
  const out: Target[] = [];
  for (const name of rule.services) {
    const svc = services(name);
    if (!svc) continue;
    for (const a of svc.addresses) {
      const ports = PortSet.of(rule.protocol, [{ from: a.port, to: a.port }]);
      const prefixes = a.kind === "hostname" ? resolveHost(a.address, resolve, warn, `${where}, Service "${svc.name}"`) : [hostPrefix(a.address)!];
      const intercepted = svc.tls !== "passthrough";
      for (const prefix of prefixes) out.push({ prefix, ports, intercepted });
    }
  }
  return out;
}

/** Every host name the snapshot's egress and alwaysAllow rules need resolved (sorted, unique). */
export function hostnamesIn(snapshot: PolicySnapshot): string[] {
  const names = new Set<string>();
  const rules = [...snapshot.hostPolicy.alwaysAllow, ...snapshot.workloads().flatMap((w) => w.egress)];
  for (const r of rules) {
    if (r.target.type === "host") names.add(r.target.host);
    for (const s of r.services) for (const a of snapshot.service(s)?.addresses ?? []) if (a.kind === "hostname") names.add(a.address);
  }
  return [...names].sort();
}
