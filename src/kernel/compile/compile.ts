/**
 * PolicySnapshot → the kernel map contents of ONE generation (pure: no kernel, no I/O; names are
 * resolved and executables stat()ed by the caller's functions).
 *
 *   workloads  id → flags: MANAGED (+AUDIT under enforcement: audit); workload 0 (unmanaged) gets
 *              ALLOW_ALL for `unmanaged: allow`, ALLOW_ALL|AUDIT for `audit`, nothing for `deny`
 *   rules      (workload, prefix) → pushed-down port ranges; alwaysAllow is compiled into every
 *              managed workload, and into workload 0 unless unmanaged is `allow` (not looked up).
 *              With `opts.proxy`: the addresses of Services a MANAGED workload reaches through a
 *              `services:` rule, unless the Service is `tls: passthrough`, get REDIRECT ranges
 *              (TCP, the Service's port, listed first): the kernel sends those connects to the
 *              proxy. Under `enforcement: audit` too (the proxy is where injection happens).
 *              Passthrough Services, UDP, and workload 0 stay plain allows.
 *   exe        (inode, dev, euid, egid; wildcards) → (workload, rank), for the selector entries the
 *              kernel decides alone at exec: path (+sha256), uid, gid (see exe.ts)
 *   ruleTable  rule_id → (workload, rule) for events and `policy explain`
 *   ingress    (port, protocol, source prefix) → PROTECTED / ALLOW for Services with
 *              `inbound.onlyThroughSluice` (XDP, see ingress.ts)
 *
 * Throws KernelCompileError when an entry needs more than MAX_RANGES port ranges: the caller keeps
 * the previous generation (a policy the kernel cannot represent is never approximated).
 */
import type { CompiledRule, PolicySnapshot } from "../../policy/index.ts";
import { WL_FLAGS } from "../layout.ts";
import { compileExe } from "./exe.ts";
import { compileIngress } from "./ingress.ts";
import { pushDown, type Contribution } from "./pushdown.ts";
import { ruleTargets, type Target } from "./targets.ts";
import type { KernelCompileOptions, KernelPolicy, KernelWarning, LpmEntry, RuleTableEntry, WorkloadEntry } from "./types.ts";
import { UNMANAGED } from "./workload-ids.ts";

function unmanagedFlags(mode: "allow" | "audit" | "deny"): number {
  return mode === "allow" ? WL_FLAGS.ALLOW_ALL : mode === "audit" ? WL_FLAGS.ALLOW_ALL | WL_FLAGS.AUDIT : 0;
}

function compareEntries(a: LpmEntry, b: LpmEntry): number {
  if (a.workload !== b.workload) return a.workload - b.workload;
  if (a.prefixLen !== b.prefixLen) return a.prefixLen - b.prefixLen;
  for (let i = 0; i < a.addr.length; i++) if (a.addr[i] !== b.addr[i]) return a.addr[i]! - b.addr[i]!;
  return 0;
}

export function compileKernelPolicy(snapshot: PolicySnapshot, opts: KernelCompileOptions): KernelPolicy {
  const warnings: KernelWarning[] = [];
  const ruleTable: RuleTableEntry[] = [];
  const workloads = new Map<number, WorkloadEntry>();
  const entries: LpmEntry[] = [];
  const targets = new Map<CompiledRule, Target[]>();
  const service = (name: string) => snapshot.service(name);

  /** Targets of a rule, resolved once per compile (alwaysAllow rules serve every workload). */
  const targetsOf = (rule: CompiledRule, owner: string): Target[] => {
    let t = targets.get(rule);
    if (!t) {
      const warn = (code: KernelWarning["code"], message: string) => warnings.push({ code, message: `${owner}: ${message}`, rule });
      targets.set(rule, (t = ruleTargets(rule, service, opts.resolve, warn)));
    }
    return t;
  };

  const compileRules = (id: number, owner: string, rules: readonly CompiledRule[]) => {
    const contributions: Contribution[] = [];
    const redirects = opts.proxy !== undefined && id !== UNMANAGED;
    rules.forEach((rule, order) => {
      const ruleId = ruleTable.length + 1;
      ruleTable.push({ ruleId, workload: id, rule });
      for (const t of targetsOf(rule, rule.origin === "alwaysAllow" ? "HostPolicy alwaysAllow" : owner)) {
        contributions.push({ prefix: t.prefix, ports: t.ports, ruleId, order, rule, ...(redirects && t.intercepted ? { redirect: t.ports } : {}) });
      }
    });
    entries.push(...pushDown(id, owner, contributions));
  };

  const always = snapshot.hostPolicy.alwaysAllow;
  const managed: Array<{ id: number; w: ReturnType<PolicySnapshot["workloads"]>[number] }> = [];
  const seen = new Map<number, string>();
  for (const w of snapshot.workloads()) {
    const id = opts.ids.idFor(w.spiffeId);
    if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new RangeError(`workload id registry returned ${id} for ${w.spiffeId}`);
    const clash = seen.get(id);
    if (clash !== undefined) throw new RangeError(`workload id registry returned ${id} for both ${clash} and ${w.spiffeId}`);
    seen.set(id, w.spiffeId);
    managed.push({ id, w });
    workloads.set(id, { flags: WL_FLAGS.MANAGED | (w.enforcement === "audit" ? WL_FLAGS.AUDIT : 0), spiffeId: w.spiffeId });
    compileRules(id, w.spiffeId, [...always, ...w.egress]);
  }

  const mode = snapshot.hostPolicy.unmanaged;
  workloads.set(UNMANAGED, { flags: unmanagedFlags(mode), spiffeId: "" });
  if (mode !== "allow") compileRules(UNMANAGED, "(unmanaged)", always);

  const exe = compileExe(managed, opts.statExe);
  warnings.push(...exe.warnings);
  const sorted = entries.sort(compareEntries);
  const ingress = compileIngress(snapshot);
  return {
    generation: snapshot.generation,
    ...(opts.proxy ? { proxy: opts.proxy } : {}),
    workloads,
    rulesV4: sorted.filter((e) => e.family === 4),
    rulesV6: sorted.filter((e) => e.family === 6),
    exe: exe.exe,
    ingressV4: ingress.v4,
    ingressV6: ingress.v6,
    ruleTable,
    warnings,
    userspaceSelectors: exe.userspace,
  };
}
