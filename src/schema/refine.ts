/** Combinators: transform/validate further, keep positions, take a raw node. */
import type { Node } from "yaml";
import type { ValidationContext } from "./context.ts";
import { INVALID, typeMismatch, type Located, type Result, type Schema } from "./types.ts";

/**
 * Validate with `schema`, then pass the value to `fn`, which may report at `node` (through `ctx`)
 * and return a new value or INVALID.
 */
export function refine<T, U>(
  schema: Schema<T>,
  fn: (value: T, node: Node, ctx: ValidationContext) => Result<U>,
  expected: string = schema.expected,
): Schema<U> {
  return {
    expected,
    check(node, ctx) {
      const v = schema.check(node, ctx);
      return v === INVALID ? INVALID : fn(v, node, ctx);
    },
  };
}

/** The value together with the position of its node. */
export function located<T>(schema: Schema<T>): Schema<Located<T>> {
  return {
    expected: schema.expected,
    check(node, ctx) {
      const v = schema.check(node, ctx);
      return v === INVALID ? INVALID : { value: v, at: ctx.pos(node) };
    },
  };
}

/** Accepts any node as is, for fields validated later by a schema chosen at run time. */
export function anyNode(): Schema<Node> {
  return { expected: "value", check: (node) => node };
}

/** Try schemas in order by node shape: the first whose `accepts(node)` is true validates it. */
export function byShape<T>(expected: string, cases: ReadonlyArray<{ accepts: (node: Node) => boolean; schema: Schema<T> }>): Schema<T> {
  return {
    expected,
    check(node, ctx) {
      for (const c of cases) if (c.accepts(node)) return c.schema.check(node, ctx);
      return typeMismatch(expected, node, ctx);
    },
  };
}
