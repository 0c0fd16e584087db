/** A map with exactly one key out of a fixed set, each key with its own schema (a tagged union). */
import { isMap } from "yaml";
import type { Node } from "yaml";
import { keyName } from "./collections.ts";
import { didYouMean } from "./suggest.ts";
import { INVALID, missingValue, run, typeMismatch, type Infer, type Schema } from "./types.ts";

export type Variants = Record<string, Schema<unknown>>;
export type VariantValue<V extends Variants> = { [K in keyof V & string]: { type: K; value: Infer<V[K]> } }[keyof V & string];

export interface VariantOptions {
  /** Shown in messages, e.g. "credential source". */
  readonly what?: string;
  /** A dedicated message for some unknown keys (e.g. inline secrets). */
  readonly unknownField?: (key: string) => { message: string; code: string } | undefined;
}

export function oneKey<V extends Variants>(variants: V, opts: VariantOptions = {}): Schema<VariantValue<V>> {
  const names = Object.keys(variants);
  const listed = names.map((n) => `\`${n}\``).join(", ");
  const expected = `map with exactly one of ${names.join(", ")}`;
  return {
    expected,
    check(node, ctx) {
      if (!isMap(node)) return typeMismatch(expected, node, ctx);
      const found: Array<{ name: string; key: Node; value: Node | null }> = [];
      let ok = true;
      for (const pair of node.items) {
        const name = keyName(pair, node, ctx);
        if (name === undefined) {
          ok = false;
          continue;
        }
        if (!Object.hasOwn(variants, name)) {
          const custom = opts.unknownField?.(name);
          if (custom) ctx.error(pair.key as Node, custom.message, custom.code);
          else {
            const hint = didYouMean(name, names) || ` (expected one of ${names.join(", ")})`;
            ctx.error(pair.key as Node, `unknown field \`${name}\`${opts.what ? ` in ${opts.what}` : ""}${hint}`, "schema.unknown-field");
          }
          ok = false;
          continue;
        }
        found.push({ name, key: pair.key as Node, value: pair.value as Node | null });
      }
      if (found.length === 0) {
        if (ok) ctx.error(node, `${opts.what ?? "value"} needs exactly one of ${listed}`, "schema.one-of");
        return INVALID;
      }
      if (found.length > 1) {
        const second = found[1]!;
        ctx.error(second.key, `only one of ${listed} may be set; found \`${found[0]!.name}\` and \`${second.name}\``, "schema.one-of");
        return INVALID;
      }
      const only = found[0]!;
      const v = only.value ? run(variants[only.name]!, only.value, ctx) : missingValue(variants[only.name]!.expected, only.key, ctx);
      if (v === INVALID || !ok) return INVALID;
      return { type: only.name, value: v } as VariantValue<V>;
    },
  };
}
