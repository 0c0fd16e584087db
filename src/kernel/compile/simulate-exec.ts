/**
 * The kernel's exec-time classification (proc_track.bpf.c `exe_classify`) over compiled exe_class
 * entries, in TypeScript: the reference the differential test holds against identity matching
 * (src/identity/match.ts) for the selector entries the kernel decides alone.
 */
import type { ExeEntry } from "./types.ts";

/** What the exec tracepoint reads: the new executable and the committed effective credentials. */
export interface ExecFacts {
  readonly ino: bigint;
  /** Kernel dev_t. */
  readonly dev: number;
  readonly euid: number;
  readonly egid: number;
}

/** The workload the kernel gives the process at exec, or undefined (it keeps what it had). */
export function simulateExecClassification(exe: readonly ExeEntry[], facts: ExecFacts): ExeEntry | undefined {
  // The same seven key shapes, in the same order; the lowest rank wins, the first on a tie.
  const shapes: Array<[boolean, boolean, boolean]> = [
    [true, true, true],
    [true, true, false],
    [true, false, true],
    [true, false, false],
    [false, true, true],
    [false, true, false],
    [false, false, true],
  ];
  let best: ExeEntry | undefined;
  for (const [byExe, byUid, byGid] of shapes) {
    const hit = exe.find(
      (e) =>
        (byExe ? e.ino === facts.ino && e.dev === facts.dev : e.ino === 0n && e.dev === 0) &&
        (byUid ? e.uid === facts.euid : e.uid === undefined) &&
        (byGid ? e.gid === facts.egid : e.gid === undefined),
    );
    if (hit && (best === undefined || hit.rank < best.rank)) best = hit;
  }
  return best;
}
