/**
 * Policy: YAML files (apiVersion sluice/v1alpha1, DESIGN §4) → validated documents → an immutable
 * PolicySnapshot, hot-reloaded by PolicyEngine.
 *
 * - `loadPolicyDir(dir, {trustDomain})` → `{snapshot?, diagnostics, files, missing, hash}`: what
 *   `sluice policy check` runs. A missing directory is a valid empty set plus a warning.
 * - `readPolicyDir(dir)` → `{files, diagnostics, missing}`; `buildPolicy(files, {trustDomain})` →
 *   `{snapshot?, diagnostics, hash}`; `checkPolicy(files, opts)` → `{docs?, diagnostics}`;
 *   `compilePolicy(docs, {trustDomain, generation?, hash?})` → PolicySnapshot.
 * - PolicySnapshot: `workload(id)`, `servicesAt(addr, port)`, `servicesWithLabel(k, v)`,
 *   `binding(workload, human?, service)`, `decideEgress(workload?, {host, port, protocol?})`,
 *   `explainEgress(...)`, `hostPolicy`, `stats`, `hash`, `generation`.
 * - `new PolicyEngine({dir, trustDomain, logger, debounceMs?, lastGood?})`: `start()`, `current()`,
 *   `subscribe(fn)`, `onError(fn)`, `reloadNow()`, `acceptEmpty()`, `stop()`.
 *
 * Diagnostics are `file:line:col` positioned (see ../schema); every error across all files is
 * reported, sorted by file and line. Snapshots exist only for sets without errors.
 */
export { formatDiagnostic, hasErrors, sortDiagnostics } from "../schema/index.ts";
export type { Diagnostic, SourcePos } from "../schema/index.ts";
export { buildPolicy, loadPolicyDir } from "./build.ts";
export type { BuildOptions, BuildResult, LoadOptions, LoadResult } from "./build.ts";
export { PolicyParseCache } from "./cache.ts";
export { checkPolicy } from "./check.ts";
export type { CheckOptions, CheckResult } from "./check.ts";
export { compilePolicy } from "./compile/compile.ts";
export type { CompileOptions } from "./compile/compile.ts";
export { hashPolicySources } from "./compile/hash.ts";
export { PolicySnapshot } from "./compile/snapshot.ts";
export type {
  CompiledBinding,
  CompiledCredentialSource,
  CompiledHostPolicy,
  CompiledRule,
  CompiledService,
  CompiledTarget,
  CompiledWorkload,
  Destination,
  EgressDecision,
  EgressExplanation,
  PolicyStats,
  RuleCheck,
  RuleRef,
  Verdict,
} from "./compile/model.ts";
export { PolicyEngine } from "./engine.ts";
export type { LastGoodStore, PolicyEngineOptions, PolicyErrorSubscriber, PolicyStartResult, PolicySubscriber, ReloadResult } from "./engine-types.ts";
export { DEFAULT_LOAD_LIMITS, isPolicyFileName, readPolicyDir } from "./load.ts";
export type { DirRead, LoadLimits } from "./load.ts";
export { canonicalHost, isLoopbackHost } from "./net/host.ts";
export { parseCidr } from "./net/cidr.ts";
export type { Cidr } from "./net/cidr.ts";
export { formatIP, parseIP, parseIPv4, parseIPv6 } from "./net/ip.ts";
export { API_VERSION, KINDS, SELECTOR_KEYS, WEAK_SELECTOR_KEYS } from "./types.ts";
export type {
  CredentialBindingSpec,
  CredentialSourceSpec,
  Enforcement,
  HostPolicySpec,
  Labels,
  PolicyDiagnostic,
  PolicyDoc,
  PolicyKind,
  PolicySourceFile,
  PortRange,
  Protocol,
  SecretRef,
  SelectorKey,
  SelectorMatch,
  SelectorSpec,
  ServiceAddress,
  ServiceInbound,
  ServiceSpec,
  TlsMode,
  UnmanagedMode,
  WorkloadIdentitySpec,
} from "./types.ts";
