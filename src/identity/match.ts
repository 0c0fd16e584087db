/**
 * Which WorkloadIdentity a process is. Each workload's selectors are OR'ed entries of AND'ed keys
 * (DESIGN §4). No workload matches → unmanaged. More than one → ambiguous, resolved by a
 * deterministic rule and reported (`ambiguous: true`) so the caller audits a warning:
 *
 * 1. more strong keys in the matching entry wins (uid, gid, user, group, binary path, sha256,
 *    cgroup path, systemd unit: the kernel vouches for them);
 * 2. then more keys in total (a weak key still narrows the match);
 * 3. then the smallest SPIFFE ID (plain string comparison, code unit order).
 *
 * Per workload the entry that counts is its best one by the same rule (then the lowest index).
 * A match through an entry with only weak keys (process:name, process:cmdline) still counts, and
 * the result says `weak: true`.
 */
import type { CompiledWorkload, SourcePos } from "../policy/index.ts";
import { compileSelectors, entryMatches, type CompiledEntry, type WorkloadSource } from "./selectors.ts";
import type { ProcessFacts } from "./types.ts";

export interface SelectorRef {
  /** 0-based position in the workload's `selectors` (`selector #index+1` in text). */
  readonly index: number;
  readonly at: SourcePos;
  /** Only weak keys. */
  readonly weak: boolean;
  readonly strongKeys: number;
  readonly keys: number;
}

export interface MatchCandidate {
  readonly workload: CompiledWorkload;
  readonly spiffeId: string;
  readonly selector: SelectorRef;
}

export interface WorkloadMatch {
  /** The workload the process is; undefined → unmanaged. */
  readonly workload?: CompiledWorkload;
  readonly spiffeId?: string;
  readonly matchedSelector?: SelectorRef;
  /** Every workload that matched, best first (the winner is `candidates[0]`). */
  readonly candidates: readonly MatchCandidate[];
  /** More than one workload matched: audit it. */
  readonly ambiguous: boolean;
  /** The winning entry has only weak keys. */
  readonly weak: boolean;
  readonly reason: string;
}

function ref(e: CompiledEntry): SelectorRef {
  return { index: e.index, at: e.at, weak: e.weak, strongKeys: e.strongKeys, keys: e.keys.length };
}

/** < 0 when `a` ranks before `b` (rules 1 and 2; the caller applies 3). */
function strength(a: SelectorRef, b: SelectorRef): number {
  return b.strongKeys - a.strongKeys || b.keys - a.keys;
}

export function compareCandidates(a: MatchCandidate, b: MatchCandidate): number {
  return strength(a.selector, b.selector) || (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : 0);
}

export function matchWorkload(facts: ProcessFacts, snapshot: WorkloadSource): WorkloadMatch {
  const candidates: MatchCandidate[] = [];
  for (const { workload, entries } of compileSelectors(snapshot)) {
    let best: SelectorRef | undefined;
    for (const e of entries) {
      if (!entryMatches(e, facts)) continue;
      const r = ref(e);
      if (best === undefined || strength(r, best) < 0) best = r;
    }
    if (best) candidates.push({ workload, spiffeId: workload.spiffeId, selector: best });
  }
  candidates.sort(compareCandidates);
  const winner = candidates[0];
  if (!winner) return Object.freeze({ candidates, ambiguous: false, weak: false, reason: "no WorkloadIdentity selector matches: unmanaged" });
  const where = `selector #${winner.selector.index + 1} of WorkloadIdentity "${winner.workload.name}" (${winner.selector.at.file}:${winner.selector.at.line})`;
  const weakNote = winner.selector.weak ? "; weak: only process:name/process:cmdline, which the process controls" : "";
  let reason: string;
  if (candidates.length === 1) reason = `${where} matches${weakNote}`;
  else {
    const runnerUp = candidates[1] as MatchCandidate;
    const a = winner.selector;
    const b = runnerUp.selector;
    const why =
      a.strongKeys !== b.strongKeys
        ? `more strong selector keys (${a.strongKeys} vs ${b.strongKeys})`
        : a.keys !== b.keys
          ? `as many strong keys and more keys in all (${a.keys} vs ${b.keys})`
          : "selectors of equal strength: the smallest SPIFFE ID wins";
    const names = candidates.map((c) => `"${c.workload.name}"`).join(", ");
    reason = `ambiguous: ${candidates.length} WorkloadIdentities match (${names}); ${where} wins: ${why}${weakNote}`;
  }
  return Object.freeze({
    workload: winner.workload,
    spiffeId: winner.spiffeId,
    matchedSelector: winner.selector,
    candidates: Object.freeze(candidates),
    ambiguous: candidates.length > 1,
    weak: winner.selector.weak,
    reason,
  });
}
