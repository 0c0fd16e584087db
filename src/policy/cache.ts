/**
 * Per-file results of parsing and validating, so a reload re-parses only the files that changed
 * (YAML parsing is ~1 MB/s; cross-checks and compilation always run on the whole set).
 * Validated documents are plain data and never mutated, so sharing them between snapshots is safe.
 */
import type { Diagnostic } from "../schema/index.ts";
import type { Declared } from "./schema/document.ts";
import type { PolicyDoc } from "./types.ts";

export interface FileCheck {
  readonly docs: readonly PolicyDoc[];
  readonly declared: readonly Declared[];
  readonly diagnostics: readonly Diagnostic[];
}

export class PolicyParseCache {
  readonly #entries = new Map<string, { text: string; key: string; result: FileCheck }>();

  /** `key` covers everything else the result depends on (trust domain, limits). */
  get(path: string, text: string, key: string): FileCheck | undefined {
    const e = this.#entries.get(path);
    return e && e.text === text && e.key === key ? e.result : undefined;
  }

  set(path: string, text: string, key: string, result: FileCheck): void {
    this.#entries.set(path, { text, key, result });
  }

  /** Forget files no longer in the set. */
  retain(paths: Iterable<string>): void {
    const keep = new Set(paths);
    for (const p of this.#entries.keys()) if (!keep.has(p)) this.#entries.delete(p);
  }

  get size(): number {
    return this.#entries.size;
  }
}
