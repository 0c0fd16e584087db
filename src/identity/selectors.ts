/**
 * What each selector key matches (docs/selectors.md has the user-facing version), compiled once
 * per PolicySnapshot (a WeakMap on the snapshot) into sets and predicates.
 *
 * | key                   | fact                      | rule                                            |
 * |-----------------------|---------------------------|-------------------------------------------------|
 * | process:uid / gid     | effective uid / gid       | equal to one value                              |
 * | process:user / group  | name of effective uid/gid | equal (local /etc/passwd, /etc/group names)     |
 * | process:binary:path   | exePath                   | equal; a deleted executable matches no path     |
 * | process:binary:sha256 | exeSha256                 | equal (lowercase hex); unhashed matches nothing |
 * | process:name (weak)   | comm                      | equal                                           |
 * | process:cmdline (weak)| argv joined with " "      | starts with the value (plain string prefix)     |
 * | cgroup:path           | cgroup v2 path            | equal, or a descendant (`/a` matches `/a/b`)    |
 * | systemd:unit          | system manager's unit     | equal; a `.slice` value matches a slice above it|
 */
import type { SourcePos } from "../schema/index.ts";
import type { CompiledWorkload } from "../policy/index.ts";
import { SELECTOR_KEYS, WEAK_SELECTOR_KEYS, type SelectorKey, type SelectorMatch, type SelectorSpec } from "../policy/types.ts";
import type { ProcessFacts } from "./types.ts";

/** Anything that lists WorkloadIdentities (a PolicySnapshot). */
export interface WorkloadSource {
  workloads(): readonly CompiledWorkload[];
}

type Pred = (f: ProcessFacts) => boolean;

interface KeyRule {
  compile(values: readonly (string | number)[]): Pred;
  /** The fact as a person reads it (explain output). */
  actual(f: ProcessFacts): string;
}

const set = <T>(values: readonly (string | number)[]) => new Set(values as readonly T[]);

/** `/a/b/` → `/a/b`; "/" stays "/". */
export function normalizeCgroupPath(p: string): string {
  const t = p.replace(/\/+$/, "");
  return t === "" ? "/" : t;
}

/** cgroup `path` is `selector` or lies below it. */
export function cgroupPathMatches(selector: string, path: string): boolean {
  return selector === "/" || path === selector || path.startsWith(`${selector}/`);
}

export function cmdlineText(f: Pick<ProcessFacts, "cmdline">): string {
  return f.cmdline.join(" ");
}

const none = "(none)";

export const KEY_RULES: Readonly<Record<SelectorKey, KeyRule>> = {
  "process:uid": {
    compile: (v) => ((s) => (f) => s.has(f.uid))(set<number>(v)),
    actual: (f) => String(f.uid),
  },
  "process:gid": {
    compile: (v) => ((s) => (f) => s.has(f.gid))(set<number>(v)),
    actual: (f) => String(f.gid),
  },
  "process:user": {
    compile: (v) => ((s) => (f) => f.user !== undefined && s.has(f.user))(set<string>(v)),
    actual: (f) => f.user ?? `${none}: uid ${f.uid} has no name in /etc/passwd`,
  },
  "process:group": {
    compile: (v) => ((s) => (f) => f.group !== undefined && s.has(f.group))(set<string>(v)),
    actual: (f) => f.group ?? `${none}: gid ${f.gid} has no name in /etc/group`,
  },
  "process:binary:path": {
    compile: (v) => ((s) => (f) => f.exePath !== undefined && !f.exeDeleted && s.has(f.exePath))(set<string>(v)),
    actual: (f) => (f.exePath === undefined ? `${none} (kernel thread)` : f.exeDeleted ? `${f.exePath} (deleted: matches no path)` : f.exePath),
  },
  "process:binary:sha256": {
    compile: (v) => ((s) => (f) => f.exeSha256 !== undefined && s.has(f.exeSha256))(new Set(v.map((x) => String(x).toLowerCase()))),
    actual: (f) => f.exeSha256 ?? `${none} (${hashNote(f)})`,
  },
  "process:name": {
    compile: (v) => ((s) => (f) => s.has(f.comm))(set<string>(v)),
    actual: (f) => f.comm,
  },
  "process:cmdline": {
    compile: (v) => {
      const prefixes = v.map(String);
      return (f) => {
        const text = cmdlineText(f);
        return prefixes.some((p) => text.startsWith(p));
      };
    },
    actual: (f) => (f.cmdline.length === 0 ? none : cmdlineText(f) + (f.cmdlineTruncated ? " …(truncated)" : "")),
  },
  "cgroup:path": {
    compile: (v) => {
      const paths = v.map((x) => normalizeCgroupPath(String(x)));
      return (f) => f.cgroupPath !== undefined && paths.some((p) => cgroupPathMatches(p, f.cgroupPath as string));
    },
    actual: (f) => f.cgroupPath ?? `${none} (no cgroup v2)`,
  },
  "systemd:unit": {
    compile: (v) => {
      const units = new Set(v.map(String).filter((u) => !u.endsWith(".slice")));
      const slices = new Set(v.map(String).filter((u) => u.endsWith(".slice")));
      return (f) => (f.systemdUnit !== undefined && units.has(f.systemdUnit)) || f.systemdSlices.some((s) => slices.has(s));
    },
    actual: (f) =>
      (f.systemdUnit ?? none) +
      (f.systemdSlices.length ? ` in ${f.systemdSlices.join("/")}` : "") +
      (f.systemdUserUnit ? ` (user unit ${f.systemdUserUnit} is not matched)` : ""),
  },
};

function hashNote(f: ProcessFacts): string {
  const h = f.exeHash;
  switch (h.status) {
    case "too-large":
      return `not hashed: ${h.size} bytes is over the ${h.limitBytes}-byte limit`;
    case "timeout":
      return `not hashed: took longer than ${h.timeoutMs} ms`;
    case "changed":
      return "not hashed: the file changed while it was read";
    case "error":
      return `not hashed: ${h.reason}`;
    case "none":
      return "kernel thread";
    default:
      return "hashed";
  }
}

/** One selector entry, ready to test. */
export interface CompiledEntry {
  /** 0-based position in the workload's `selectors` list. */
  readonly index: number;
  readonly spec: SelectorSpec;
  readonly at: SourcePos;
  readonly weak: boolean;
  /** Keys present, in SELECTOR_KEYS order. */
  readonly keys: readonly SelectorKey[];
  readonly strongKeys: number;
  readonly preds: readonly Pred[];
}

export interface CompiledWorkloadSelectors {
  readonly workload: CompiledWorkload;
  readonly entries: readonly CompiledEntry[];
}

const compiled = new WeakMap<object, readonly CompiledWorkloadSelectors[]>();

/** The snapshot's selectors, compiled on first use and kept as long as the snapshot lives. */
export function compileSelectors(snapshot: WorkloadSource): readonly CompiledWorkloadSelectors[] {
  let c = compiled.get(snapshot);
  if (!c) {
    c = Object.freeze(snapshot.workloads().map((workload) => ({ workload, entries: workload.selectors.map(compileEntry) })));
    compiled.set(snapshot, c);
  }
  return c;
}

function compileEntry(spec: SelectorSpec, index: number): CompiledEntry {
  const keys = SELECTOR_KEYS.filter((k) => spec.match[k] !== undefined);
  const preds = keys.map((k) => KEY_RULES[k].compile(valuesOf(spec.match, k)));
  const strongKeys = keys.filter((k) => !WEAK_SELECTOR_KEYS.has(k)).length;
  return { index, spec, at: spec.at, weak: strongKeys === 0, keys, strongKeys, preds };
}

export function valuesOf(match: SelectorMatch, key: SelectorKey): readonly (string | number)[] {
  return (match[key] ?? []) as readonly (string | number)[];
}

/** Every key of the entry holds (an entry always has at least one key; policy check ensures it). */
export function entryMatches(entry: CompiledEntry, facts: ProcessFacts): boolean {
  if (entry.preds.length === 0) return false;
  for (const p of entry.preds) if (!p(facts)) return false;
  return true;
}
