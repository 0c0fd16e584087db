/**
 * exe_class: which processes are classified at exec time, in the kernel, with no userspace round
 * trip (DESIGN §6: kernel decisions never wait on userspace).
 *
 * At exec the kernel knows the new executable's inode and device and the task's credentials (the
 * exec's are committed by then). So it decides a selector entry ALONE when every key of the entry
 * is one of:
 *
 *   process:binary:path    stat()ed here: its (inode, dev) goes in the key
 *   process:binary:sha256  only with a path: the hash of the file at compile time must match when
 *                          the caller supplies it (statExe().sha256); userspace re-checks the
 *                          running process's hash on the EXEC event
 *   process:uid / gid      the EFFECTIVE uid/gid, as identity matching (src/identity/selectors.ts)
 *
 * e.g. "claude run by alice" (path + uid), or a uid alone (any executable: ino 0, dev 0). Each
 * entry becomes one key per (path, uid, gid) combination, with wildcards for the keys it does not
 * have (at most MAX_KEYS_PER_ENTRY: more is left to userspace, warned). The kernel looks up every
 * wildcard combination and takes the hit with the lowest rank; ranks follow identity matching's
 * order (src/identity/match.ts compareCandidates: more strong keys, then more keys, then the
 * smallest SPIFFE ID), so the kernel picks the workload userspace would among these entries.
 *
 * Every other entry (user/group names, cgroup:path, systemd:unit, name, cmdline, or any of them
 * combined with the keys above) is left to userspace: on the EXEC event it attests the process and
 * writes the procs entry (flags REFINED). Until then the process keeps what it inherited from its
 * parent or what a kernel-decided entry gave it at exec; userspace's full match overrides it.
 *
 * Not covered in the kernel: a uid/gid change WITHOUT an exec (setuid(2) in a running process). It
 * keeps its classification until its next exec (or until userspace rescans on a policy change).
 */
import type { CompiledWorkload } from "../../policy/index.ts";
import { LIMITS, toKernelDev } from "../layout.ts";
import type { ExeEntry, KernelWarning, StatExeFn, UserspaceSelector } from "./types.ts";

const KERNEL_KEYS = new Set(["process:binary:path", "process:binary:sha256", "process:uid", "process:gid"]);
/** (paths × uids × gids) of one selector entry; past this the entry is left to userspace. */
export const MAX_KEYS_PER_ENTRY = 256;

interface Candidate {
  readonly workload: number;
  readonly spiffeId: string;
  /** Every kernel key is strong: strong keys = keys. */
  readonly keys: number;
  readonly path?: string;
  rank: number;
}

interface Slot {
  readonly ino: bigint;
  readonly dev: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly candidates: Candidate[];
}

export interface ExeResult {
  readonly exe: ExeEntry[];
  readonly userspace: UserspaceSelector[];
  readonly warnings: KernelWarning[];
}

/** identity/match.ts compareCandidates for entries whose keys are all strong. */
function compare(a: Candidate, b: Candidate): number {
  return b.keys - a.keys || (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : 0);
}

function ids(values: readonly (string | number)[] | undefined): Array<number | undefined> {
  return values ? [...new Set(values.map(Number))] : [undefined];
}

export function compileExe(workloads: ReadonlyArray<{ readonly id: number; readonly w: CompiledWorkload }>, statExe: StatExeFn): ExeResult {
  const slots = new Map<string, Slot>();
  const all: Candidate[] = [];
  const userspace: UserspaceSelector[] = [];
  const warnings: KernelWarning[] = [];
  for (const { id, w } of workloads) {
    w.selectors.forEach((sel, index) => {
      const keys = Object.keys(sel.match);
      const paths = sel.match["process:binary:path"];
      const hashes = sel.match["process:binary:sha256"];
      const extra = keys.filter((k) => !KERNEL_KEYS.has(k));
      const toUserspace = (why: string[]) => userspace.push({ workload: w.spiffeId, index, file: sel.at.file, line: sel.at.line, keys: why });
      if (extra.length > 0) return toUserspace(extra);
      if (!paths && hashes) return toUserspace(["process:binary:sha256"]); // a hash alone needs the running file hashed
      const where = `WorkloadIdentity "${w.name}" selector #${index + 1} (${sel.at.file}:${sel.at.line})`;
      const uids = ids(sel.match["process:uid"]);
      const gids = ids(sel.match["process:gid"]);
      const combos = (paths?.length ?? 1) * uids.length * gids.length;
      if (combos > MAX_KEYS_PER_ENTRY) {
        warnings.push({ code: "exe-too-many-keys", workload: w.spiffeId, message: `${where}: ${combos} (path, uid, gid) combinations is over ${MAX_KEYS_PER_ENTRY}; classified by userspace on exec` });
        return toUserspace(keys);
      }
      const exes: Array<{ ino: bigint; dev: number; path?: string }> = [];
      for (const path of paths ?? []) {
        const st = statExe(path);
        if (!st) {
          warnings.push({ code: "exe-missing", workload: w.spiffeId, message: `${where}: ${path} does not exist; processes running it are classified by userspace on exec` });
          continue;
        }
        if (hashes && st.sha256 !== undefined && !hashes.includes(st.sha256.toLowerCase())) {
          warnings.push({ code: "exe-hash-mismatch", workload: w.spiffeId, message: `${where}: ${path} does not have the sha256 the selector lists; not classified in the kernel` });
          continue;
        }
        exes.push({ ino: BigInt(st.ino), dev: toKernelDev(st.dev), path });
      }
      if (!paths) exes.push({ ino: 0n, dev: 0 }); // uid/gid only: any executable
      const fresh = new Set(exes.flatMap((e) => uids.flatMap((u) => gids.map((g) => slotKey(e.ino, e.dev, u, g)))).filter((k) => !slots.has(k)));
      if (slots.size + fresh.size > LIMITS.EXE_MAX) {
        warnings.push({ code: "exe-full", workload: w.spiffeId, message: `${where}: the exe_class map is full (${LIMITS.EXE_MAX} keys); classified by userspace on exec` });
        return toUserspace(keys);
      }
      for (const e of exes) {
        const candidate: Candidate = { workload: id, spiffeId: w.spiffeId, keys: keys.length, ...(e.path !== undefined ? { path: e.path } : {}), rank: 0 };
        all.push(candidate);
        for (const uid of uids)
          for (const gid of gids) {
            const k = slotKey(e.ino, e.dev, uid, gid);
            let slot = slots.get(k);
            if (!slot) slots.set(k, (slot = { ino: e.ino, dev: e.dev, ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}), candidates: [] }));
            slot.candidates.push(candidate);
          }
      }
    });
  }
  // Ranks: equal only for the same workload with the same strength (interchangeable).
  all.sort(compare);
  all.forEach((c, i) => (c.rank = i === 0 ? 0 : compare(all[i - 1]!, c) === 0 ? all[i - 1]!.rank : all[i - 1]!.rank + 1));

  const exe: ExeEntry[] = [];
  for (const slot of slots.values()) {
    const candidates = slot.candidates.sort(compare);
    const win = candidates[0]!;
    const others = [...new Set(candidates.filter((c) => c.workload !== win.workload).map((c) => c.spiffeId))];
    if (others.length > 0)
      warnings.push({
        code: "exe-ambiguous",
        workload: win.spiffeId,
        message: `${describeSlot(slot, win)} is claimed by ${[win.spiffeId, ...others].join(", ")}; the kernel classifies it as ${win.spiffeId} (more selector keys, then smallest SPIFFE ID)`,
      });
    const paths = [...new Set(candidates.filter((c) => c.workload === win.workload && c.path !== undefined).map((c) => c.path!))].sort();
    exe.push({ ino: slot.ino, dev: slot.dev, ...(slot.uid !== undefined ? { uid: slot.uid } : {}), ...(slot.gid !== undefined ? { gid: slot.gid } : {}), workload: win.workload, rank: win.rank, paths });
  }
  const any = (x: number | undefined) => x ?? -1;
  exe.sort((a, b) => a.dev - b.dev || (a.ino < b.ino ? -1 : a.ino > b.ino ? 1 : 0) || any(a.uid) - any(b.uid) || any(a.gid) - any(b.gid));
  return { exe, userspace, warnings };
}

function slotKey(ino: bigint, dev: number, uid: number | undefined, gid: number | undefined): string {
  return `${dev}:${ino}:${uid ?? "*"}:${gid ?? "*"}`;
}

function describeSlot(slot: Slot, win: Candidate): string {
  const who = [slot.uid !== undefined ? `uid ${slot.uid}` : "", slot.gid !== undefined ? `gid ${slot.gid}` : ""].filter(Boolean).join(", ");
  const what = slot.ino === 0n ? "any executable" : `${win.path ?? "?"} (inode ${slot.ino})`;
  return who ? `${what} run as ${who}` : what;
}
