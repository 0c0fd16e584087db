/** The schema DSL's core types. */
import { isMap, isScalar, isSeq } from "yaml";
import type { Node } from "yaml";
import type { SourcePos } from "./diagnostic.ts";
import type { ValidationContext } from "./context.ts";

/** Returned by a validator that has reported why the node is invalid. */
export const INVALID: unique symbol = Symbol("invalid");
export type Invalid = typeof INVALID;
export type Result<T> = T | Invalid;

export interface Schema<T> {
  /** What the schema expects, for "expected X, got Y" messages: "integer", "list", "map"… */
  readonly expected: string;
  /** Validate a node (aliases already resolved), reporting problems to `ctx`. */
  check(node: Node, ctx: ValidationContext): Result<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** A value with the position of the node it came from. */
export interface Located<T> {
  readonly value: T;
  readonly at: SourcePos;
}

/** Run `schema` on `node`, resolving an alias first. */
export function run<T>(schema: Schema<T>, node: Node, ctx: ValidationContext): Result<T> {
  const resolved = ctx.resolve(node);
  if (resolved === undefined) return INVALID;
  return schema.check(resolved, ctx);
}

const MAX_SHOWN = 40;

/** How a node reads in a message: `string "abc"`, `integer 5`, `map`, `list`, `null`. */
export function describeNode(node: Node): string {
  if (isMap(node)) return "map";
  if (isSeq(node)) return "list";
  if (!isScalar(node)) return "alias";
  const v = node.value;
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") {
    const shown = v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}…` : v;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof v === "number") {
    const src = node.source ?? String(v);
    return Number.isInteger(v) && /^[-+]?(0|[0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$/.test(src) ? `integer ${src}` : `number ${src}`;
  }
  if (typeof v === "boolean") return `boolean ${v}`;
  if (v instanceof Uint8Array) return "binary";
  return typeof v;
}

export function typeMismatch(expected: string, node: Node, ctx: ValidationContext): Invalid {
  ctx.error(node, `expected ${expected}, got ${describeNode(node)}`, "schema.type");
  return INVALID;
}

/** A `key` with no value at all (`? key` in YAML). */
export function missingValue(expected: string, key: Node, ctx: ValidationContext): Invalid {
  ctx.error(key, `expected ${expected}, got nothing`, "schema.type");
  return INVALID;
}
