/** Sources → validated → compiled: the one path used by `policy check`, `serve` and the engine. */
import { hasErrors, sortDiagnostics, type Diagnostic, type YamlLimits } from "../schema/index.ts";
import type { PolicyParseCache } from "./cache.ts";
import { checkPolicy } from "./check.ts";
import { compilePolicy } from "./compile/compile.ts";
import { hashPolicySources } from "./compile/hash.ts";
import type { PolicySnapshot } from "./compile/snapshot.ts";
import { readPolicyDir, type LoadLimits } from "./load.ts";
import type { PolicySourceFile } from "./types.ts";

export interface BuildOptions {
  readonly trustDomain: string;
  readonly generation?: number;
  readonly limits?: Partial<YamlLimits>;
  readonly cache?: PolicyParseCache;
}

export interface BuildResult {
  /** Present only when there is no error. */
  readonly snapshot?: PolicySnapshot;
  readonly diagnostics: readonly Diagnostic[];
  readonly hash: string;
}

export function buildPolicy(files: readonly PolicySourceFile[], opts: BuildOptions): BuildResult {
  const hash = hashPolicySources(files, opts.trustDomain);
  const checked = checkPolicy(files, opts);
  if (!checked.docs) return { diagnostics: checked.diagnostics, hash };
  const snapshot = compilePolicy(checked.docs, { trustDomain: opts.trustDomain, generation: opts.generation ?? 0, hash, files: files.length });
  return { snapshot, diagnostics: checked.diagnostics, hash };
}

export interface LoadOptions extends BuildOptions {
  readonly loadLimits?: Partial<LoadLimits>;
}

export interface LoadResult extends BuildResult {
  readonly files: readonly PolicySourceFile[];
  /** The directory does not exist: an empty, valid set (nothing is managed) with a warning. */
  readonly missing: boolean;
}

/** Read, validate and compile a policy directory (what `sluice policy check` runs). */
export async function loadPolicyDir(dir: string, opts: LoadOptions): Promise<LoadResult> {
  const read = readPolicyDir(dir, opts.loadLimits);
  const built = buildPolicy(read.files, opts);
  const diagnostics = sortDiagnostics([...read.diagnostics, ...built.diagnostics]);
  const ok = !hasErrors(diagnostics) && built.snapshot !== undefined;
  return ok
    ? { snapshot: built.snapshot, diagnostics, hash: built.hash, files: read.files, missing: read.missing }
    : { diagnostics, hash: built.hash, files: read.files, missing: read.missing };
}
