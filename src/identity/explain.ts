/**
 * `sluice identify --pid N`: the facts of a process, the workload it is, the selector entry
 * (file:line) that made it so, and for every other workload why not, key by key (expected vs
 * actual). `explainFacts` is the pure part; `explainIdentity` reads the process first.
 */
import { readFileSync, realpathSync } from "node:fs";
import type { SelectorKey } from "../policy/types.ts";
import { WEAK_SELECTOR_KEYS } from "../policy/types.ts";
import type { Attestor } from "./attestor.ts";
import { readProcessFacts, type FactsOptions } from "./facts.ts";
import { matchWorkload } from "./match.ts";
import { compileSelectors, KEY_RULES, valuesOf, type WorkloadSource } from "./selectors.ts";
import { clockTicksPerSecond } from "./sys.ts";
import type { ProcessFacts } from "./types.ts";

export interface KeyCheck {
  readonly key: SelectorKey;
  readonly weak: boolean;
  readonly expected: readonly (string | number)[];
  readonly actual: string;
  readonly ok: boolean;
  /** Why a plausible-looking value did not match, when sluice can tell. */
  readonly hint?: string;
}

export interface EntryCheck {
  /** 0-based (`selector #index+1` in text). */
  readonly index: number;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly weak: boolean;
  readonly matched: boolean;
  readonly keys: readonly KeyCheck[];
}

export interface WorkloadCheck {
  readonly name: string;
  readonly spiffeId: string;
  /** Some entry matched (the workload is a candidate). */
  readonly matched: boolean;
  /** The workload the process is. */
  readonly chosen: boolean;
  readonly entries: readonly EntryCheck[];
}

export interface IdentitySummary {
  /** Undefined: unmanaged. */
  readonly spiffeId?: string;
  readonly workload?: string;
  readonly selector?: { readonly index: number; readonly file: string; readonly line: number; readonly col: number; readonly weak: boolean };
  readonly ambiguous: boolean;
  readonly weak: boolean;
  readonly reason: string;
  readonly candidates: readonly { readonly workload: string; readonly spiffeId: string }[];
}

export interface IdentityExplanation {
  readonly facts: ProcessFacts;
  /** Wall-clock start (boot time + start ticks), ISO 8601; absent when /proc/stat has no btime. */
  readonly startedAt?: string;
  readonly identity: IdentitySummary;
  readonly workloads: readonly WorkloadCheck[];
  /** The human-readable report. */
  readonly text: string;
}

export interface ExplainOptions extends FactsOptions {
  /** Read facts through this attestor (its caches) instead of directly. */
  attestor?: Attestor;
}

export async function explainIdentity(pid: number, snapshot: WorkloadSource, options: ExplainOptions = {}): Promise<IdentityExplanation> {
  const { attestor, ...factsOptions } = options;
  const facts = attestor ? await attestor.facts(pid) : await readProcessFacts(pid, factsOptions);
  return explainFacts(facts, snapshot, { startedAt: startedAt(facts.startTime) });
}

export function explainFacts(facts: ProcessFacts, snapshot: WorkloadSource, extra: { startedAt?: string | undefined } = {}): IdentityExplanation {
  const match = matchWorkload(facts, snapshot);
  const workloads: WorkloadCheck[] = compileSelectors(snapshot).map(({ workload, entries }) => {
    const checks: EntryCheck[] = entries.map((e) => {
      const keys: KeyCheck[] = e.keys.map((key, i) => {
        const ok = (e.preds[i] as (f: ProcessFacts) => boolean)(facts);
        const expected = valuesOf(e.spec.match, key);
        const hint = ok ? undefined : hintFor(key, expected, facts);
        return { key, weak: WEAK_SELECTOR_KEYS.has(key), expected, actual: KEY_RULES[key].actual(facts), ok, ...(hint ? { hint } : {}) };
      });
      return { index: e.index, file: e.at.file, line: e.at.line, col: e.at.col, weak: e.weak, matched: keys.every((k) => k.ok), keys };
    });
    return {
      name: workload.name,
      spiffeId: workload.spiffeId,
      matched: checks.some((c) => c.matched),
      chosen: match.workload === workload,
      entries: checks,
    };
  });
  const sel = match.matchedSelector;
  const identity: IdentitySummary = {
    ...(match.spiffeId ? { spiffeId: match.spiffeId } : {}),
    ...(match.workload ? { workload: match.workload.name } : {}),
    ...(sel ? { selector: { index: sel.index, file: sel.at.file, line: sel.at.line, col: sel.at.col, weak: sel.weak } } : {}),
    ambiguous: match.ambiguous,
    weak: match.weak,
    reason: match.reason,
    candidates: match.candidates.map((c) => ({ workload: c.workload.name, spiffeId: c.spiffeId })),
  };
  const base = { facts, ...(extra.startedAt ? { startedAt: extra.startedAt } : {}), identity, workloads };
  return { ...base, text: formatExplanation(base) };
}

function hintFor(key: SelectorKey, expected: readonly (string | number)[], f: ProcessFacts): string | undefined {
  if (key === "process:binary:path" && f.exePath !== undefined) {
    if (f.exeDeleted && expected.includes(f.exePath)) return "the executable was deleted or replaced since the process started it; restart the process";
    const script = f.cmdline[1];
    if (script !== undefined && expected.some((p) => p === script || String(p).endsWith(`/${script.replace(/^.*\//, "")}`)))
      return `${script} looks like a script run by ${f.exePath}: a script's process is its interpreter; select it by cgroup:path or systemd:unit, or use a compiled binary`;
    for (const p of expected) {
      const real = realpathOrUndefined(String(p));
      if (real === f.exePath && real !== p) return `${p} is a link to ${real}; selectors compare the resolved path: write ${real}`;
    }
  }
  if (key === "process:cmdline" && f.cmdlineTruncated) return "the command line was longer than the read limit and was cut";
  return undefined;
}

function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

/** Boot time (/proc/stat btime) + start ticks → ISO time. */
export function startedAt(startTime: number, procStat?: string): string | undefined {
  let text = procStat;
  try {
    text ??= readFileSync("/proc/stat", "utf8");
  } catch {
    return undefined;
  }
  const m = /^btime (\d+)$/m.exec(text);
  if (!m) return undefined;
  return new Date((Number(m[1]) + startTime / clockTicksPerSecond()) * 1000).toISOString();
}

export function formatExplanation(e: Omit<IdentityExplanation, "text">): string {
  const f = e.facts;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(9)} ${value}`);
  const named = (id: number, name: string | undefined | null) => (name ? `${id} (${name})` : String(id));
  lines.push(`pid ${f.pid} (${f.comm})`);
  row("started", `${e.startedAt ?? "?"} (${f.startTime} ticks after boot)`);
  row("exe", f.exePath === undefined ? "(none: kernel thread)" : `${f.exePath}${f.exeDeleted ? " (deleted)" : ""}`);
  row("sha256", f.exeSha256 ?? KEY_RULES["process:binary:sha256"].actual(f));
  row("uid", `${named(f.uid, f.user)}${f.realUid !== f.uid ? `, real ${f.realUid}` : ""}`);
  row("gid", `${named(f.gid, f.group)}${f.realGid !== f.gid ? `, real ${f.realGid}` : ""}`);
  if (f.supplementaryGids.length) row("groups", f.supplementaryGids.map((g, i) => named(g, f.supplementaryGroups[i])).join(", "));
  row("cgroup", f.cgroupPath ?? "(no cgroup v2)");
  row("unit", KEY_RULES["systemd:unit"].actual(f));
  row("cmdline", KEY_RULES["process:cmdline"].actual(f));
  row("ppid", String(f.ppid));
  lines.push("");
  const id = e.identity;
  if (id.spiffeId && id.selector) {
    lines.push(`workload  ${id.workload} → ${id.spiffeId}`);
    lines.push(`  by selector #${id.selector.index + 1} at ${id.selector.file}:${id.selector.line}:${id.selector.col}${id.selector.weak ? " (WEAK: only keys the process controls)" : ""}`);
    if (id.ambiguous) lines.push(`  warning: ${id.reason}`);
  } else lines.push("workload  none: unmanaged (no WorkloadIdentity selector matches)");
  const others = e.workloads.filter((w) => !w.chosen);
  if (others.length) {
    lines.push("", id.spiffeId ? "other workloads:" : "workloads:");
    for (const w of others) {
      lines.push(`  ${w.name} (${w.spiffeId})${w.matched ? ": also matches (lost the tie-break)" : ""}`);
      for (const c of w.entries) {
        lines.push(`    selector #${c.index + 1} at ${c.file}:${c.line}:${c.col}: ${c.matched ? "matches" : "does not match"}`);
        for (const k of c.keys) {
          const want = k.expected.map(String).join(" | ");
          lines.push(`      ${k.ok ? "ok  " : "FAIL"} ${k.key}: ${k.ok ? k.actual : `expected ${want}, got ${k.actual}`}`);
          if (k.hint) lines.push(`           hint: ${k.hint}`);
        }
      }
    }
  }
  return lines.join("\n");
}
