/** Validated documents → an immutable PolicySnapshot with O(1) lookups. */
import { createHash } from "node:crypto";
import { formatPos } from "../../schema/index.ts";
import { deepFreeze } from "../freeze.ts";
import { LabelIndex } from "../labels.ts";
import { DEFAULT_HOST_POLICY } from "../schema/host-policy.ts";
import type { CredentialBindingDoc, HostPolicyDoc, PolicyDoc, ServiceDoc, WorkloadIdentityDoc } from "../types.ts";
import { RuleMatcher, type MatchRule } from "./matcher.ts";
import type { CompiledBinding, CompiledCredentialSource, CompiledHostPolicy, CompiledService, CompiledWorkload, EgressDecision } from "./model.ts";
import { Selections, allowDecisions, compileRules } from "./rules.ts";
import { PolicySnapshot, bindingKey, type SnapshotData, type WorkloadEntry } from "./snapshot.ts";

export interface CompileOptions {
  readonly trustDomain: string;
  /** Assigned by the engine: 1 for the first applied snapshot, then +1 per swap. */
  readonly generation?: number;
  /** Content hash of the sources (see hashPolicySources); default: a hash of the documents. */
  readonly hash?: string;
  /** Number of source files, for stats. */
  readonly files?: number;
}

function compileServices(docs: readonly ServiceDoc[]) {
  const services: CompiledService[] = docs.map((d) => {
    const { addresses, labels, external, tls, spiffeID, inbound } = d.spec;
    const name = d.metadata.name;
    return { name, addresses, labels, external, tls, ...(spiffeID === undefined ? {} : { spiffeID }), ...(inbound === undefined ? {} : { inbound }), source: d.nameAt };
  });
  const byAddress = new Map<string, Map<number, CompiledService[]>>();
  for (const svc of services) {
    for (const a of svc.addresses) {
      let ports = byAddress.get(a.address);
      if (!ports) byAddress.set(a.address, (ports = new Map()));
      const list = ports.get(a.port);
      if (!list) ports.set(a.port, [svc]);
      else if (!list.includes(svc)) list.push(svc);
    }
  }
  return { services, byName: new Map(services.map((s) => [s.name, s])), byAddress, labelIndex: new LabelIndex(services) };
}

interface HostRules {
  readonly always: readonly MatchRule[];
  readonly allow: ReturnType<typeof allowDecisions>;
}

function compileWorkload(d: WorkloadIdentityDoc, host: HostRules, selections: Selections, serviceByName: ReadonlyMap<string, CompiledService>): WorkloadEntry {
  const rules = compileRules(d.spec.egress, "egress", selections);
  const workload: CompiledWorkload = {
    name: d.metadata.name,
    spiffeId: d.spec.workloadID,
    enforcement: d.spec.enforcement,
    selectors: d.spec.selectors,
    egress: rules.map((r) => r.rule),
    svid: d.spec.svid,
    labels: d.metadata.labels,
    annotations: d.metadata.annotations,
    source: d.nameAt,
  };
  const owner = `WorkloadIdentity "${workload.name}"`;
  const allowOwn = allowDecisions(`${owner} egress`);
  // alwaysAllow comes first in every workload's own matcher: one lookup per decision.
  const matcher = new RuleMatcher([...host.always, ...rules], serviceByName, (order) => (order < host.always.length ? host.allow : allowOwn));
  const audit = workload.enforcement === "audit";
  const fallback: EgressDecision = Object.freeze({
    verdict: audit ? "audit" : "deny",
    reason: `no egress rule of ${owner} allows this destination (default deny)${audit ? "; enforcement: audit lets it through and reports it" : ""}`,
  });
  return { workload, rules, matcher, fallback };
}

function compileBinding(d: CredentialBindingDoc, sources: ReadonlyMap<string, CompiledCredentialSource>, labelIndex: LabelIndex<CompiledService>): CompiledBinding {
  const names = new Set<string>();
  for (const sel of d.spec.injectionSelectors) for (const svc of labelIndex.select(sel.labels)) names.add(svc.name);
  return {
    name: d.metadata.name,
    credentialSource: sources.get(d.spec.credentialSource)!,
    workloadID: d.spec.workloadID,
    ...(d.spec.humanID !== undefined ? { humanID: d.spec.humanID } : {}),
    services: [...names],
    source: d.nameAt,
  };
}

export function compilePolicy(docs: readonly PolicyDoc[], opts: CompileOptions): PolicySnapshot {
  const of = <K extends PolicyDoc["kind"]>(kind: K) => docs.filter((d): d is Extract<PolicyDoc, { kind: K }> => d.kind === kind);
  const svc = compileServices(of("Service"));
  const selections = new Selections(svc.labelIndex);

  const hostDoc: HostPolicyDoc | undefined = of("HostPolicy")[0];
  const hostSpec = hostDoc?.spec ?? DEFAULT_HOST_POLICY;
  const hostLabel = hostDoc ? `HostPolicy "${hostDoc.metadata.name}"` : "HostPolicy (defaults)";
  const host: HostRules = { always: compileRules(hostSpec.alwaysAllow, "alwaysAllow", selections), allow: allowDecisions(`${hostLabel} alwaysAllow`) };
  const hostPolicy: CompiledHostPolicy = {
    ...(hostDoc ? { name: hostDoc.metadata.name, source: hostDoc.nameAt } : {}),
    unmanaged: hostSpec.unmanaged,
    alwaysAllow: host.always.map((r) => r.rule),
  };

  const entries = of("WorkloadIdentity").map((d) => compileWorkload(d, host, selections, svc.byName));
  const workloads = entries.map((e) => e.workload);
  const sources: CompiledCredentialSource[] = of("CredentialSource").map((d) => ({ name: d.metadata.name, spec: d.spec, source: d.nameAt }));
  const sourceByName = new Map(sources.map((s) => [s.name, s]));
  const bindings = of("CredentialBinding").map((d) => compileBinding(d, sourceByName, svc.labelIndex));
  const bindingByKey = new Map<string, CompiledBinding>();
  for (const b of bindings) for (const s of b.services) bindingByKey.set(bindingKey(b.workloadID, b.humanID, s), b);

  const data: SnapshotData = {
    trustDomain: opts.trustDomain,
    generation: opts.generation ?? 0,
    hash: opts.hash ?? hashDocs(docs, opts.trustDomain),
    stats: {
      files: opts.files ?? new Set(docs.map((d) => d.file)).size,
      workloads: workloads.length,
      services: svc.services.length,
      credentialSources: sources.length,
      credentialBindings: bindings.length,
      egressRules: host.always.length + entries.reduce((n, e) => n + e.rules.length, 0),
    },
    hostPolicy,
    workloads,
    workloadById: new Map(entries.map((e) => [e.workload.spiffeId, e])),
    services: svc.services,
    serviceByName: svc.byName,
    servicesByAddress: svc.byAddress,
    labelIndex: svc.labelIndex,
    sources,
    sourceByName,
    bindings,
    bindingByKey,
    always: new RuleMatcher(host.always, svc.byName, () => host.allow),
    alwaysRules: host.always,
    unmanagedDecision: {
      verdict: hostSpec.unmanaged,
      reason: `not a managed workload (no WorkloadIdentity): ${hostLabel} sets unmanaged: ${hostSpec.unmanaged}${hostDoc ? ` at ${formatPos(hostDoc.nameAt)}` : ""}`,
    },
  };
  // What consumers can reach is frozen now; internal index lists are frozen when first handed out.
  deepFreeze([workloads, svc.services, sources, bindings, hostPolicy, data.stats, data.unmanagedDecision]);
  return new PolicySnapshot(data);
}

function hashDocs(docs: readonly PolicyDoc[], trustDomain: string): string {
  const json = JSON.stringify(docs, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  return createHash("sha256").update(`sluice-policy-docs-v1\0${trustDomain}\0`).update(json).digest("hex");
}
