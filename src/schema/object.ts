/** Object schema: known fields (required, optional, defaulted), unknown fields with "did you mean". */
import { isMap, isScalar } from "yaml";
import type { Node, YAMLMap } from "yaml";
import type { ValidationContext } from "./context.ts";
import { keyName } from "./collections.ts";
import { didYouMean } from "./suggest.ts";
import { INVALID, missingValue, run, typeMismatch, type Invalid, type Schema } from "./types.ts";

export interface Field<T> {
  readonly schema: Schema<unknown>;
  readonly presence: "required" | "optional" | "default";
  readonly defaultValue?: unknown;
  /** Type carrier only; never set. */
  readonly __type?: T;
}

export function required<T>(schema: Schema<T>): Field<T> {
  return { schema, presence: "required" };
}

/** Absent (or `null`) → undefined. */
export function optional<T>(schema: Schema<T>): Field<T | undefined> {
  return { schema, presence: "optional" };
}

/** Absent (or `null`) → `value`. */
export function withDefault<T>(schema: Schema<T>, value: T): Field<T> {
  return { schema, presence: "default", defaultValue: value };
}

export type Fields = Record<string, Field<unknown>>;
export type ObjectValue<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never };

/** Where each present field was written, for checks that report at a specific field. */
export interface FieldNodes<F extends Fields> {
  readonly map: YAMLMap;
  key(name: keyof F & string): Node | undefined;
  value(name: keyof F & string): Node | undefined;
}

export interface ObjectOptions<F extends Fields> {
  /** Shown in messages, e.g. "egress rule". */
  readonly what?: string;
  /** A dedicated message for some unknown keys (e.g. inline secrets); undefined → the default message. */
  readonly unknownField?: (key: string) => { message: string; code: string } | undefined;
  /** Cross-field checks, run when every field is valid; report through `ctx` and return false to reject. */
  readonly check?: (value: ObjectValue<F>, at: FieldNodes<F>, ctx: ValidationContext) => boolean | void;
}

export interface PartialObject<F extends Fields> {
  readonly value: { -readonly [K in keyof F]?: ObjectValue<F>[K] };
  readonly ok: boolean;
  readonly at: FieldNodes<F>;
}

export interface ObjectSchema<F extends Fields> extends Schema<ObjectValue<F>> {
  readonly fields: F;
  /** Validate every field; returns the valid ones even when others fail (for "report everything"). */
  checkPartial(node: Node, ctx: ValidationContext): PartialObject<F> | Invalid;
}

function isNull(node: Node | null | undefined): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

export function object<F extends Fields>(fields: F, opts: ObjectOptions<F> = {}): ObjectSchema<F> {
  const names = Object.keys(fields);
  const expected = "map";

  function checkPartial(node: Node, ctx: ValidationContext): PartialObject<F> | Invalid {
    if (!isMap(node)) return typeMismatch(expected, node, ctx);
    const keys = new Map<string, Node>();
    const values = new Map<string, Node>();
    const value: Record<string, unknown> = {};
    let ok = true;
    for (const pair of node.items) {
      const name = keyName(pair, node, ctx);
      if (name === undefined) {
        ok = false;
        continue;
      }
      const keyNode = pair.key as Node;
      if (!Object.hasOwn(fields, name)) {
        const custom = opts.unknownField?.(name);
        if (custom) ctx.error(keyNode, custom.message, custom.code);
        else {
          const hint = didYouMean(name, names) || ` (expected one of ${names.join(", ")})`;
          ctx.error(keyNode, `unknown field \`${name}\`${opts.what ? ` in ${opts.what}` : ""}${hint}`, "schema.unknown-field");
        }
        ok = false;
        continue;
      }
      keys.set(name, keyNode);
      const field = fields[name]!;
      const valueNode = pair.value as Node | null;
      if (valueNode) values.set(name, valueNode);
      if (isNull(valueNode) && field.presence !== "required") continue;
      const v = valueNode ? run(field.schema, valueNode, ctx) : missingValue(field.schema.expected, keyNode, ctx);
      if (v === INVALID) ok = false;
      else value[name] = v;
    }
    for (const name of names) {
      if (name in value) continue;
      const field = fields[name]!;
      if (field.presence === "required") {
        if (!keys.has(name)) {
          ctx.error(node, `missing required field \`${name}\`${opts.what ? ` in ${opts.what}` : ""}`, "schema.required");
          ok = false;
        }
        continue;
      }
      if (keys.has(name) && !isNull(values.get(name))) continue; // present but invalid: already reported
      value[name] = field.presence === "default" ? structuredClone(field.defaultValue) : undefined;
    }
    const at: FieldNodes<F> = { map: node, key: (n) => keys.get(n), value: (n) => values.get(n) };
    return { value: value as PartialObject<F>["value"], ok, at };
  }

  return {
    expected,
    fields,
    checkPartial,
    check(node, ctx) {
      const r = checkPartial(node, ctx);
      if (r === INVALID || !r.ok) return INVALID;
      const full = r.value as ObjectValue<F>;
      if (opts.check && opts.check(full, r.at, ctx) === false) return INVALID;
      return full;
    },
  };
}
