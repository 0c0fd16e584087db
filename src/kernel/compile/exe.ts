/**
 * exe_class: which executables classify a process at exec time, in the kernel, with no userspace
 * round trip.
 *
 * The kernel sees only the new executable's inode and device, so it can decide a selector entry
 * ALONE only when that entry's keys are `process:binary:path` (+ optionally
 * `process:binary:sha256`): the path is stat()ed here and the (inode, dev) pair put in the map.
 * With sha256, the hash of the file at compile time must match when the caller supplies it
 * (statExe().sha256); userspace re-checks the hash of the running process on the EXEC event.
 *
 * Every other entry (uid, gid, user, group, cgroup:path, systemd:unit, name, cmdline, or any of
 * them combined with a path) is left to userspace: on the EXEC event it attests the process and
 * writes the procs entry (flags REFINED). Until then the process keeps what it inherited from its
 * parent (descendants of an agent stay enforced; a fresh login shell stays unmanaged).
 *
 * Several workloads claiming one inode: the same rule as identity matching (more strong keys, then
 * more keys, then the smallest SPIFFE ID) picks one, and a warning says so.
 */
import type { CompiledWorkload } from "../../policy/index.ts";
import { toKernelDev } from "../layout.ts";
import type { ExeEntry, KernelWarning, StatExeFn, UserspaceSelector } from "./types.ts";

const KERNEL_KEYS = new Set(["process:binary:path", "process:binary:sha256"]);

interface Candidate {
  readonly workload: number;
  readonly spiffeId: string;
  readonly keys: number;
  readonly path: string;
}

export interface ExeResult {
  readonly exe: ExeEntry[];
  readonly userspace: UserspaceSelector[];
  readonly warnings: KernelWarning[];
}

export function compileExe(workloads: ReadonlyArray<{ readonly id: number; readonly w: CompiledWorkload }>, statExe: StatExeFn): ExeResult {
  const byInode = new Map<string, { ino: bigint; dev: number; candidates: Candidate[] }>();
  const userspace: UserspaceSelector[] = [];
  const warnings: KernelWarning[] = [];
  for (const { id, w } of workloads) {
    w.selectors.forEach((sel, index) => {
      const keys = Object.keys(sel.match);
      const paths = sel.match["process:binary:path"];
      const extra = keys.filter((k) => !KERNEL_KEYS.has(k));
      if (!paths || extra.length > 0) {
        userspace.push({ workload: w.spiffeId, index, file: sel.at.file, line: sel.at.line, keys: extra.length > 0 ? extra : keys });
        return;
      }
      const hashes = sel.match["process:binary:sha256"];
      for (const path of paths) {
        const st = statExe(path);
        const where = `WorkloadIdentity "${w.name}" selector #${index + 1} (${sel.at.file}:${sel.at.line})`;
        if (!st) {
          warnings.push({ code: "exe-missing", workload: w.spiffeId, message: `${where}: ${path} does not exist; processes running it are classified by userspace on exec` });
          continue;
        }
        if (hashes && st.sha256 !== undefined && !hashes.includes(st.sha256.toLowerCase())) {
          warnings.push({ code: "exe-hash-mismatch", workload: w.spiffeId, message: `${where}: ${path} does not have the sha256 the selector lists; not classified in the kernel` });
          continue;
        }
        const ino = BigInt(st.ino);
        const dev = toKernelDev(st.dev);
        const key = `${dev}:${ino}`;
        let slot = byInode.get(key);
        if (!slot) byInode.set(key, (slot = { ino, dev, candidates: [] }));
        slot.candidates.push({ workload: id, spiffeId: w.spiffeId, keys: keys.length, path });
      }
    });
  }
  const exe: ExeEntry[] = [];
  for (const { ino, dev, candidates } of byInode.values()) {
    candidates.sort((a, b) => b.keys - a.keys || (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : 0));
    const win = candidates[0]!;
    const others = [...new Set(candidates.filter((c) => c.workload !== win.workload).map((c) => c.spiffeId))];
    if (others.length > 0)
      warnings.push({
        code: "exe-ambiguous",
        workload: win.spiffeId,
        message: `${win.path} (inode ${ino}) is claimed by ${[win.spiffeId, ...others].join(", ")}; the kernel classifies it as ${win.spiffeId} (more selector keys, then smallest SPIFFE ID)`,
      });
    const paths = [...new Set(candidates.filter((c) => c.workload === win.workload).map((c) => c.path))].sort();
    exe.push({ ino, dev, workload: win.workload, paths });
  }
  exe.sort((a, b) => a.dev - b.dev || (a.ino < b.ino ? -1 : a.ino > b.ino ? 1 : 0));
  return { exe, userspace, warnings };
}
