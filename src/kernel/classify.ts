/**
 * Process classification rules shared by the exec-event path and the startup scan: a process
 * that matches its own WorkloadIdentity is that workload (REFINED); otherwise it inherits its
 * parent's classification (INHERITED), so an agent cannot escape its egress rules by spawning
 * `curl` or `python`; with neither, it is unmanaged (0).
 */
import { PROC_FLAGS } from "./layout.ts";

export interface Classification {
  readonly workload: number;
  readonly flags: number;
}

export const UNCLASSIFIED: Classification = Object.freeze({ workload: 0, flags: 0 });

/**
 * Its own match wins, else what it inherited: for a new process its parent's classification; after
 * an exec, the classification the process carried into the exec (as the kernel keeps it).
 */
export function classify(ownWorkload: number, inherited: Classification | undefined): Classification {
  if (ownWorkload > 0) return { workload: ownWorkload, flags: PROC_FLAGS.REFINED };
  if (inherited && inherited.workload > 0) return { workload: inherited.workload, flags: PROC_FLAGS.INHERITED };
  return UNCLASSIFIED;
}

export interface ProcessNode {
  readonly pid: number;
  readonly ppid: number;
  /** Workload id of the process's own match (0 = none). */
  readonly own: number;
}

/**
 * Classifies a whole process tree (e.g. every process alive when sluice starts), parents before
 * children whatever the input order. A parent missing from the input counts as unclassified.
 */
export function classifyTree(nodes: readonly ProcessNode[]): Map<number, Classification> {
  const byPid = new Map(nodes.map((n) => [n.pid, n]));
  const out = new Map<number, Classification>();
  const visit = (pid: number, depth: number): Classification | undefined => {
    const known = out.get(pid);
    if (known) return known;
    const node = byPid.get(pid);
    if (!node) return undefined;
    // A cycle cannot happen in a real tree, but input read from /proc races with exits and reuse.
    const parent = depth > 4096 || node.ppid === pid ? undefined : visit(node.ppid, depth + 1);
    const result = classify(node.own, parent);
    out.set(pid, result);
    return result;
  };
  for (const n of nodes) visit(n.pid, 0);
  return out;
}
