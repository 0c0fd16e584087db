/** PolicyEngine's options, results and callbacks. */
import type { Logger } from "../log/index.ts";
import type { Diagnostic, YamlLimits } from "../schema/index.ts";
import type { PolicySnapshot } from "./compile/snapshot.ts";
import type { LoadLimits } from "./load.ts";
import type { PolicySourceFile } from "./types.ts";

/** Where the last set that compiled is kept across restarts (the server keeps it in the store). */
export interface LastGoodStore {
  load(): PolicySourceFile[] | undefined;
  save(files: PolicySourceFile[]): void;
}

export interface PolicyEngineOptions {
  readonly dir: string;
  readonly trustDomain: string;
  readonly logger: Logger;
  /** Quiet time after the last change before reloading. Default 100. */
  readonly debounceMs?: number;
  /** Fallback poll interval. Default 1000. */
  readonly pollMs?: number;
  readonly lastGood?: LastGoodStore;
  readonly limits?: Partial<YamlLimits>;
  readonly loadLimits?: Partial<LoadLimits>;
}

export interface PolicyStartResult {
  /** The directory's policy is in force. */
  readonly ok: boolean;
  /** Not ok, and the last good set is in force instead. */
  readonly usedLastGood: boolean;
  /** What is in force; undefined when not ok and there was no last good set (see acceptEmpty). */
  readonly snapshot?: PolicySnapshot;
  readonly diagnostics: readonly Diagnostic[];
}

export type ReloadResult =
  | { readonly status: "applied"; readonly snapshot: PolicySnapshot; readonly previous?: PolicySnapshot; readonly diagnostics: readonly Diagnostic[] }
  | { readonly status: "unchanged"; readonly snapshot?: PolicySnapshot; readonly diagnostics: readonly Diagnostic[] }
  | { readonly status: "rejected"; readonly snapshot?: PolicySnapshot; readonly diagnostics: readonly Diagnostic[] }
  | { readonly status: "stopped"; readonly diagnostics: readonly Diagnostic[] };

export type PolicySubscriber = (snapshot: PolicySnapshot, previous: PolicySnapshot | undefined) => void;
export type PolicyErrorSubscriber = (diagnostics: readonly Diagnostic[]) => void;
