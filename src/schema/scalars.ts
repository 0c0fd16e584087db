/** Scalar schemas: string, integer, boolean, enum. */
import { isScalar } from "yaml";
import type { Node } from "yaml";
import type { ValidationContext } from "./context.ts";
import { didYouMean } from "./suggest.ts";
import { INVALID, typeMismatch, type Result, type Schema } from "./types.ts";

export interface StringOptions {
  /** Default 1: empty strings are rejected unless allowed explicitly. */
  readonly minLength?: number;
  /** Default 4096. */
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** Why a value failing `pattern` is wrong, e.g. "use lowercase letters and digits". */
  readonly hint?: string;
  /** Further check; returns a complete problem message, or undefined when the value is fine. */
  readonly check?: (value: string) => string | undefined;
  /** Shown in messages instead of "value", e.g. "name". */
  readonly what?: string;
}

function scalarString(node: Node): string | undefined {
  return isScalar(node) && typeof node.value === "string" ? node.value : undefined;
}

function show(v: string): string {
  return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
}

export function string(opts: StringOptions = {}): Schema<string> {
  const min = opts.minLength ?? 1;
  const max = opts.maxLength ?? 4096;
  const what = opts.what ?? "value";
  return {
    expected: "string",
    check(node, ctx) {
      const v = scalarString(node);
      if (v === undefined) return typeMismatch("string", node, ctx);
      if (v.length < min) {
        ctx.error(node, min === 1 ? `${what} must not be empty` : `${what} must be at least ${min} characters`, "schema.value");
        return INVALID;
      }
      if (v.length > max) {
        ctx.error(node, `${what} is longer than ${max} characters`, "schema.value");
        return INVALID;
      }
      if (opts.pattern && !opts.pattern.test(v)) {
        ctx.error(node, `invalid ${what} ${show(v)}${opts.hint ? `: ${opts.hint}` : ""}`, "schema.value");
        return INVALID;
      }
      const problem = opts.check?.(v);
      if (problem !== undefined) {
        ctx.error(node, problem, "schema.value");
        return INVALID;
      }
      return v;
    },
  };
}

export interface IntegerOptions {
  readonly min?: number;
  readonly max?: number;
  readonly what?: string;
}

const INTEGER_SOURCE = /^[-+]?([0-9]+|0x[0-9a-fA-F]+|0o[0-7]+)$/;

export function integer(opts: IntegerOptions = {}): Schema<number> {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  return {
    expected: "integer",
    check(node, ctx) {
      if (!isScalar(node) || typeof node.value !== "number" || !Number.isSafeInteger(node.value))
        return typeMismatch("integer", node, ctx);
      if (node.source !== undefined && !INTEGER_SOURCE.test(node.source)) return typeMismatch("integer", node, ctx);
      const v = node.value;
      if (v < min || v > max) {
        ctx.error(node, `${opts.what ?? "value"} ${v} is out of range ${min}-${max}`, "schema.range");
        return INVALID;
      }
      return v;
    },
  };
}

export function boolean(): Schema<boolean> {
  const expected = "boolean (true or false)";
  return {
    expected,
    check(node, ctx) {
      if (!isScalar(node) || typeof node.value !== "boolean") return typeMismatch(expected, node, ctx);
      return node.value;
    },
  };
}

/** One of fixed strings; an unknown value gets "did you mean". */
export function enumOf<const V extends string>(values: readonly V[], opts: { what?: string } = {}): Schema<V> {
  const list = values.join(", ");
  const set = new Set<string>(values);
  return {
    expected: `one of ${list}`,
    check(node: Node, ctx: ValidationContext): Result<V> {
      const v = scalarString(node);
      if (v === undefined) return typeMismatch(`one of ${list}`, node, ctx);
      if (!set.has(v)) {
        const what = opts.what ?? "value";
        ctx.error(node, `unknown ${what} ${show(v)} (expected one of ${list})${didYouMean(v, values)}`, "schema.enum");
        return INVALID;
      }
      return v as V;
    },
  };
}
