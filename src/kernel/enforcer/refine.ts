/**
 * Userspace's half of classification: full attestation (sha256, user/group names, cgroup, unit… —
 * what the kernel cannot decide by inode and credentials at exec) of processes the kernel reports, and of every process alive when
 * sluice starts or the policy changes. The kernel never waits for this: until refined, a new
 * process carries what it inherited.
 */
import { readdirSync } from "node:fs";
import type { Attestor } from "../../identity/index.ts";
import type { Logger } from "../../log/index.ts";
import type { PolicySnapshot } from "../../policy/index.ts";
import { classify, classifyTree, type Classification } from "../classify.ts";
import { PROC_FLAGS, type SluiceProc } from "../layout.ts";
import type { BpfMap } from "../maps/bpf-map.ts";
import type { WorkloadIds } from "../workload-ids.ts";

export interface Refiner {
  /** After an EXEC event: the process's own match, else what it carried into the exec. */
  onExec(tgid: number): Promise<void>;
  /** After a FORK event: the child carries its parent's current classification (it may have been refined since the fork). */
  onFork(child: number, parent: number): void;
  /** Attest every live process and rewrite its classification (start, adoption, policy change). */
  scanAll(): Promise<{ processes: number; classified: number }>;
}

function sameEntry(a: SluiceProc | undefined, b: SluiceProc | undefined): boolean {
  if (!a || !b) return a === b;
  return a.workload === b.workload && a.flags === b.flags && a.startTimeNs === b.startTimeNs;
}

export function createRefiner(deps: { procs: BpfMap<number, SluiceProc>; attestor: Attestor; ids: WorkloadIds; snapshot: () => PolicySnapshot; logger: Logger }): Refiner {
  const { procs, attestor, ids, snapshot, logger } = deps;

  const ownWorkload = async (pid: number): Promise<{ own: number; ppid: number } | undefined> => {
    try {
      const { facts, match } = await attestor.identify(pid, snapshot());
      return { own: match.workload ? ids.idFor(match.workload.spiffeId) : 0, ppid: facts.ppid };
    } catch {
      return undefined; // exited or reused: its entry goes with it (the exit hook deletes it)
    }
  };

  const write = (tgid: number, c: Classification, startTimeNs: bigint) => {
    if (c.workload === 0 && c.flags === 0) {
      procs.delete(tgid);
      return;
    }
    procs.update(tgid, { workload: c.workload, flags: c.flags, startTimeNs });
  };

  return {
    async onExec(tgid) {
      const carried = procs.lookup(tgid);
      const result = await ownWorkload(tgid);
      if (!result) return;
      const next = classify(result.own, carried);
      if (carried && carried.workload === next.workload && carried.flags === next.flags) return;
      // Compare-and-set: if the kernel changed the entry while we attested (a later exec it could
      // classify itself, e.g. `env`/`setpriv` exec'ing the agent), this refinement is stale: writing
      // it would undo the newer classification and fail open. The later exec's event refines it.
      if (!sameEntry(procs.lookup(tgid), carried)) return;
      write(tgid, next, carried?.startTimeNs ?? 0n);
      logger.debug("process classified", { pid: tgid, workload: next.workload, refined: next.flags === PROC_FLAGS.REFINED });
    },
    onFork(child, parent) {
      const p = procs.lookup(parent);
      const c = procs.lookup(child);
      // A child refined by userspace, or classified by the kernel at its own exec since the fork,
      // carries something newer than its parent's entry.
      if (!p || !c || c.flags & (PROC_FLAGS.REFINED | PROC_FLAGS.EXE)) return;
      if (c.workload !== p.workload) procs.update(child, { workload: p.workload, flags: PROC_FLAGS.INHERITED, startTimeNs: c.startTimeNs });
    },
    async scanAll() {
      const pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n)).map(Number);
      const nodes: { pid: number; ppid: number; own: number }[] = [];
      for (const pid of pids) {
        const r = await ownWorkload(pid);
        if (r) nodes.push({ pid, ppid: r.ppid, own: r.own });
      }
      const tree = classifyTree(nodes);
      let classified = 0;
      for (const [pid, c] of tree) {
        const current = procs.lookup(pid);
        if (c.workload > 0) classified++;
        if (current && current.workload === c.workload && current.flags === c.flags) continue;
        // The scan's facts are stale for a process that exec'd since (the cached attestation is
        // invalidated by the exec): leave it to the kernel's classification and its EXEC event.
        if (attestor.identifyCached(pid, snapshot()) === undefined) continue;
        write(pid, c, current?.startTimeNs ?? 0n);
      }
      return { processes: nodes.length, classified };
    },
  };
}
