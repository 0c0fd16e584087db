/**
 * PolicySnapshot → kernel map contents for one generation (pure TypeScript, no kernel).
 *
 * - `compileKernelPolicy(snapshot, {ids, resolve, statExe})` → KernelPolicy `{generation,
 *   workloads, rulesV4, rulesV6, exe, ingressV4, ingressV6, ruleTable, warnings, userspaceSelectors}`; throws
 *   KernelCompileError (`code: "ERR_KERNEL_COMPILE"`, `workload`, `prefix`, `rules`) when an entry
 *   would need more than 16 port ranges: keep the previous generation.
 * - `hostnamesIn(snapshot)`: the names to resolve before compiling (resolve is synchronous).
 * - `WorkloadIdRegistry` (`idFor(spiffeId)`), `InMemoryWorkloadIds`, `UNMANAGED` (= 0).
 * - `simulateKernelDecision(policy, workload, address, port, protocol)`: the kernel's decision
 *   procedure over the compiled entries (the differential test's reference).
 * - `simulateExecClassification(exe, {ino, dev, euid, egid})`: the exec tracepoint's exe_class
 *   lookup (which entry classifies a process at exec), the reference for the exec differential test.
 */
export { compileKernelPolicy } from "./compile.ts";
export { compileIngress, type IngressEntry } from "./ingress.ts";
export { KernelCompileError } from "./errors.ts";
export { hostnamesIn } from "./targets.ts";
export { statExe, statExeWithHash } from "./stat-exe.ts";
export { simulateKernelDecision } from "./simulate.ts";
export type { SimulatedDecision } from "./simulate.ts";
export { simulateExecClassification, type ExecFacts } from "./simulate-exec.ts";
export { MAX_KEYS_PER_ENTRY } from "./exe.ts";
export { InMemoryWorkloadIds, UNMANAGED } from "./workload-ids.ts";
export type { WorkloadIdRegistry } from "./workload-ids.ts";
export type {
  ExeEntry,
  ExeStat,
  Family,
  KernelCompileOptions,
  ProxyTarget,
  KernelPolicy,
  KernelWarning,
  KernelWarningCode,
  LpmEntry,
  Resolved,
  ResolveFn,
  RuleTableEntry,
  StatExeFn,
  UserspaceSelector,
  WorkloadEntry,
} from "./types.ts";
