/** Bounds on YAML input, so a hostile or runaway file cannot hang the process or exhaust memory. */
export interface YamlLimits {
  /** Largest accepted source, in UTF-8 bytes. */
  readonly maxBytes: number;
  /** Most documents (`---`) in one source. */
  readonly maxDocuments: number;
  /** Deepest `[`/`{` nesting; the parser's cost grows faster than linearly beyond this. */
  readonly maxFlowDepth: number;
  /** Deepest block nesting (mappings and lists) in one document. */
  readonly maxDepth: number;
  /** Most nodes in one document. */
  readonly maxNodes: number;
  /** Most alias (`*x`) dereferences while validating one document (defeats "billion laughs"). */
  readonly maxAliasCount: number;
}

export const DEFAULT_YAML_LIMITS: YamlLimits = Object.freeze({
  maxBytes: 4 * 1024 * 1024,
  maxDocuments: 10_000,
  maxFlowDepth: 64,
  maxDepth: 128,
  maxNodes: 1_000_000,
  maxAliasCount: 1_000,
});
