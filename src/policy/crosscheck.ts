/** Checks across documents: duplicate names and IDs, dangling references, ambiguous bindings. */
import { diagnostic, didYouMean, formatPos, type Diagnostic } from "../schema/index.ts";
import type { Declared } from "./schema/document.ts";
import { LabelIndex, formatLabels } from "./labels.ts";
import type { CredentialBindingDoc, EgressRuleSpec, PolicyDoc, ServiceDoc, WorkloadIdentityDoc } from "./types.ts";

/**
 * `incomplete`: some documents failed validation. Then "matches nothing" warnings are skipped: they
 * would mostly echo the invalid documents (a binding to a WorkloadIdentity that has an error).
 */
export function crossCheck(docs: readonly PolicyDoc[], declared: readonly Declared[], incomplete = false): Diagnostic[] {
  const out: Diagnostic[] = [];
  checkDuplicateNames(declared, out);
  const workloads = docs.filter((d): d is WorkloadIdentityDoc => d.kind === "WorkloadIdentity");
  const services = docs.filter((d): d is ServiceDoc => d.kind === "Service");
  const bindings = docs.filter((d): d is CredentialBindingDoc => d.kind === "CredentialBinding");
  const index = new LabelIndex(services.map((doc) => ({ labels: doc.spec.labels, doc })));
  checkWorkloadIds(workloads, out);
  checkServiceAddresses(services, out);
  const sourceNames = declared.filter((d) => d.kind === "CredentialSource").map((d) => d.name);
  const workloadIds = new Set(workloads.map((w) => w.spec.workloadID));
  const warnings: Diagnostic[] = [];
  for (const b of bindings) checkBinding(b, new Set(sourceNames), sourceNames, workloadIds, index, out, warnings);
  checkAmbiguousBindings(bindings, index, out);
  for (const doc of docs) {
    const rules = doc.kind === "WorkloadIdentity" ? doc.spec.egress : doc.kind === "HostPolicy" ? doc.spec.alwaysAllow : [];
    for (const rule of rules) checkServicesRule(rule, index, warnings);
  }
  return incomplete ? out : [...out, ...warnings];
}

function checkDuplicateNames(declared: readonly Declared[], out: Diagnostic[]): void {
  const first = new Map<string, Declared>();
  let hostPolicy: Declared | undefined;
  for (const d of declared) {
    if (d.kind === "HostPolicy") {
      if (hostPolicy) out.push(diagnostic("error", d.kindAt, `only one HostPolicy is allowed (first defined at ${formatPos(hostPolicy.kindAt)})`, "policy.duplicate-host-policy"));
      hostPolicy ??= d;
      continue;
    }
    const key = `${d.kind}/${d.name}`;
    const prev = first.get(key);
    if (prev) out.push(diagnostic("error", d.nameAt, `duplicate ${d.kind} "${d.name}" (first defined at ${formatPos(prev.nameAt)})`, "policy.duplicate-name"));
    else first.set(key, d);
  }
}

function checkWorkloadIds(workloads: readonly WorkloadIdentityDoc[], out: Diagnostic[]): void {
  const first = new Map<string, WorkloadIdentityDoc>();
  for (const w of workloads) {
    const prev = first.get(w.spec.workloadID);
    if (prev)
      out.push(diagnostic("error", w.spec.workloadIDAt, `duplicate workloadID ${w.spec.workloadID} (also used by WorkloadIdentity "${prev.metadata.name}" at ${formatPos(prev.spec.workloadIDAt)})`, "policy.duplicate-workload-id"));
    else first.set(w.spec.workloadID, w);
  }
}

function checkServiceAddresses(services: readonly ServiceDoc[], out: Diagnostic[]): void {
  const first = new Map<string, ServiceDoc>();
  for (const svc of services) {
    for (const a of svc.spec.addresses) {
      const key = `${a.address}|${a.port}`;
      const prev = first.get(key);
      if (!prev) first.set(key, svc);
      else if (prev !== svc && prev.spec.tls !== svc.spec.tls)
        out.push(diagnostic("error", svc.nameAt, `Service "${svc.metadata.name}" claims ${a.address}:${a.port} with tls: ${svc.spec.tls}, but Service "${prev.metadata.name}" (${formatPos(prev.nameAt)}) claims it with tls: ${prev.spec.tls}`, "policy.conflicting-service"));
    }
  }
}

type Indexed = { labels: ServiceDoc["spec"]["labels"]; doc: ServiceDoc };

function checkBinding(b: CredentialBindingDoc, sources: Set<string>, sourceNames: string[], workloadIds: Set<string>, index: LabelIndex<Indexed>, out: Diagnostic[], unmatched: Diagnostic[]): void {
  if (!sources.has(b.spec.credentialSource))
    out.push(diagnostic("error", b.spec.credentialSourceAt, `CredentialSource "${b.spec.credentialSource}" not found${didYouMean(b.spec.credentialSource, sourceNames)}`, "policy.dangling-reference"));
  if (!workloadIds.has(b.spec.workloadID))
    unmatched.push(diagnostic("warning", b.spec.workloadIDAt, `no WorkloadIdentity has workloadID ${b.spec.workloadID}; this binding applies to nothing until one does`, "policy.unmatched-workload"));
  for (const sel of b.spec.injectionSelectors) {
    const matched = index.select(sel.labels);
    if (matched.length === 0) unmatched.push(diagnostic("warning", sel.at, `no Service has labels ${formatLabels(sel.labels)}; nothing is injected for this selector`, "policy.unmatched-selector"));
    for (const { doc } of matched)
      if (doc.spec.tls === "passthrough")
        out.push(diagnostic("warning", sel.at, `Service "${doc.metadata.name}" has tls: passthrough: sluice cannot see its requests, so nothing is injected; set tls: intercept`, "policy.passthrough-injection"));
  }
}

function checkAmbiguousBindings(bindings: readonly CredentialBindingDoc[], index: LabelIndex<Indexed>, out: Diagnostic[]): void {
  const first = new Map<string, CredentialBindingDoc>();
  for (const b of bindings) {
    const reported = new Set<CredentialBindingDoc>();
    for (const sel of b.spec.injectionSelectors) {
      for (const { doc: svc } of index.select(sel.labels)) {
        const key = `${b.spec.workloadID}\n${b.spec.humanID ?? ""}\n${svc.metadata.name}`;
        const prev = first.get(key);
        if (!prev) first.set(key, b);
        else if (prev !== b && prev.metadata.name !== b.metadata.name && !reported.has(prev)) {
          reported.add(prev);
          const who = b.spec.humanID ? `workload ${b.spec.workloadID} and user ${b.spec.humanID}` : `workload ${b.spec.workloadID}`;
          out.push(diagnostic("error", b.nameAt, `CredentialBinding "${b.metadata.name}" binds ${who} to Service "${svc.metadata.name}", as CredentialBinding "${prev.metadata.name}" (${formatPos(prev.nameAt)}) already does: the credential to inject would be ambiguous`, "policy.ambiguous-binding"));
        }
      }
    }
  }
}

function checkServicesRule(rule: EgressRuleSpec, index: LabelIndex<Indexed>, out: Diagnostic[]): void {
  if (rule.target.type !== "services") return;
  if (index.select(rule.target.labels).length === 0)
    out.push(diagnostic("warning", rule.at, `no Service has labels ${formatLabels(rule.target.labels)}; this rule allows nothing`, "policy.unmatched-selector"));
}
