/** What compileKernelPolicy takes and returns: one generation's kernel map contents. */
import type { RuleRef } from "../../policy/index.ts";
import type { LpmKey, RuleValue } from "../layout.ts";
import type { IngressEntry } from "./ingress.ts";
import type { WorkloadIdRegistry } from "./workload-ids.ts";

/** Addresses a host name resolves to (text; v4-mapped IPv6 counts as IPv4). */
export interface Resolved {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

/**
 * Answers from the caller's resolver cache (compile is synchronous and pure: resolve every name of
 * `hostnamesIn(snapshot)` first). `undefined` or no address: the name is reported in `warnings`
 * and nothing is allowed for it (never widened).
 */
export type ResolveFn = (host: string) => Resolved | undefined;

/** stat() of an executable path: inode, st_dev as stat reports it, optionally the file's sha256 (hex). */
export interface ExeStat {
  readonly ino: bigint | number;
  readonly dev: bigint | number;
  readonly sha256?: string;
}
export type StatExeFn = (path: string) => ExeStat | undefined;

/** The proxy's loopback listener (from `proxy.listen`): where REDIRECT entries send TCP connects. */
export interface ProxyTarget {
  /** IPv4 address (AF_INET sockets and v4-mapped destinations), e.g. 127.0.0.1. */
  readonly v4: string;
  /** IPv6 address (native IPv6 destinations), e.g. ::1. */
  readonly v6: string;
  readonly port: number;
}

export interface KernelCompileOptions {
  readonly ids: WorkloadIdRegistry;
  readonly resolve: ResolveFn;
  readonly statExe: StatExeFn;
  /**
   * The proxy. Given: Service addresses (tls intercept/upgrade) of managed workloads become
   * REDIRECT ranges (TCP). Absent: they are compiled as plain allows (no proxy to send them to).
   */
  readonly proxy?: ProxyTarget;
}

export type Family = 4 | 6;

/** One LPM entry: key (workload, prefix) and its pushed-down value. */
export interface LpmEntry extends LpmKey {
  readonly family: Family;
  /** The prefix as text, e.g. `10.1.0.0/16`. */
  readonly cidr: string;
  readonly value: RuleValue;
}

export interface WorkloadEntry {
  /** enum sluice_workload_flags. */
  readonly flags: number;
  /** SPIFFE ID; `""` for workload 0 (unmanaged). */
  readonly spiffeId: string;
}

/**
 * exe_class: a process whose exec matches this key (executable, effective uid, effective gid; an
 * absent part matches anything) is classified as `workload` at once; among several matching keys
 * the lowest `rank` wins (see exe.ts).
 */
export interface ExeEntry {
  /** Inode of the executable; 0n (with dev 0) = any executable (uid/gid-only entries). */
  readonly ino: bigint;
  /** Kernel dev_t (sluice_exe_key.dev); 0 with ino 0n. */
  readonly dev: number;
  /** Effective uid after the exec; absent = any. */
  readonly uid?: number;
  /** Effective gid after the exec; absent = any. */
  readonly gid?: number;
  readonly workload: number;
  /** Identity matching's order among the kernel-decided entries (lower wins). */
  readonly rank: number;
  /** Paths of the selectors that put it there ([] for uid/gid-only keys). */
  readonly paths: readonly string[];
}

/** rule_id → the rule it stands for, per workload (alwaysAllow rules appear once per workload). */
export interface RuleTableEntry {
  readonly ruleId: number;
  readonly workload: number;
  readonly rule: RuleRef;
}

export type KernelWarningCode =
  | "unresolved-host"
  | "bad-address"
  | "exe-missing"
  | "exe-hash-mismatch"
  | "exe-ambiguous"
  | "exe-too-many-keys"
  | "exe-full"
  | "workload-id-collision";

export interface KernelWarning {
  readonly code: KernelWarningCode;
  readonly message: string;
  readonly workload?: string;
  readonly rule?: RuleRef;
}

/** A selector entry the kernel cannot decide at exec time: userspace refines on the EXEC event. */
export interface UserspaceSelector {
  readonly workload: string;
  /** 0-based index in the workload's selectors. */
  readonly index: number;
  readonly file: string;
  readonly line: number;
  /** The keys that need userspace (e.g. process:uid). */
  readonly keys: readonly string[];
}

export interface KernelPolicy {
  /** PolicySnapshot.generation it was compiled from. */
  readonly generation: number;
  /** Where REDIRECT ranges go (written into sluice_state with the generation); absent = none. */
  readonly proxy?: ProxyTarget;
  /** Workload id → config; always has 0 (unmanaged). */
  readonly workloads: ReadonlyMap<number, WorkloadEntry>;
  readonly rulesV4: readonly LpmEntry[];
  readonly rulesV6: readonly LpmEntry[];
  readonly exe: readonly ExeEntry[];
  /** XDP ingress allowlist entries (Services with `inbound.onlyThroughSluice`). */
  readonly ingressV4: readonly IngressEntry[];
  readonly ingressV6: readonly IngressEntry[];
  readonly ruleTable: readonly RuleTableEntry[];
  readonly warnings: readonly KernelWarning[];
  readonly userspaceSelectors: readonly UserspaceSelector[];
}
