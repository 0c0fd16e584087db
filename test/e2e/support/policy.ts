/**
 * Policy YAML for the e2e tests, built from small pieces (each returns one document's text).
 * Selectors are path-only: each workload runs its own copy of a binary.
 */

function doc(kind: string, name: string, spec: readonly string[]): string {
  return ["apiVersion: sluice/v1alpha1", `kind: ${kind}`, `metadata: {name: ${name}}`, "spec:", ...spec.map((l) => `  ${l}`)].join("\n");
}

/** Documents joined into one multi-document file. */
export function policyFile(...docs: readonly string[]): string {
  return docs.join("\n---\n") + "\n";
}

/** Egress entries (YAML list items): Services by `app` label, and sluice's AS port on both loopbacks. */
export function egress(o: { apps?: readonly string[]; sluiceAsPort?: number }): string[] {
  const out = (o.apps ?? []).map((app) => `- services: {app: ${app}}`);
  if (o.sluiceAsPort) for (const cidr of ["127.0.0.1/32", "::1/128"]) out.push(`- cidr: ${cidr}`, `  ports: [${o.sluiceAsPort}]`);
  return out;
}

export function workloadIdentity(workloadID: string, binaries: readonly string[], egressItems: readonly string[]): string {
  return doc("WorkloadIdentity", workloadID, [`workloadID: ${workloadID}`, "selectors:", ...binaries.map((b) => `  - process:binary:path: ${b}`), ...(egressItems.length ? ["egress:", ...egressItems.map((l) => `  ${l}`)] : [])]);
}

export function service(name: string, o: { address: string; port: number; tls: "intercept" | "passthrough" | "upgrade"; spiffeID?: string }): string {
  return doc("Service", name, [`addresses: [{address: ${o.address}, port: ${o.port}}]`, `labels: {app: ${name}}`, `tls: ${o.tls}`, ...(o.spiffeID ? [`spiffeID: ${o.spiffeID}`] : [])]);
}

/** A CredentialSource; `spec` is its body (e.g. ["static:", "  header: X-Api-Key", …]). */
export function credentialSource(name: string, spec: readonly string[]): string {
  return doc("CredentialSource", name, spec);
}

/** A CredentialBinding of `source` for `workloadID` (and `humanID`, if any) injected into Service `app`. */
export function credentialBinding(name: string, o: { source: string; workloadID: string; humanID?: string; app: string }): string {
  return doc("CredentialBinding", name, [
    `credentialSource: ${o.source}`,
    `workloadID: ${o.workloadID}`,
    ...(o.humanID ? [`humanID: ${o.humanID}`] : []),
    "propagation:",
    "  injection:",
    `    selectors: [{app: ${o.app}}]`,
  ]);
}
