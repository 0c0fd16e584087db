/** Collection schemas: list, scalar-or-list, string-keyed map. */
import { isMap, isScalar, isSeq } from "yaml";
import type { Node, YAMLMap } from "yaml";
import type { ValidationContext } from "./context.ts";
import { INVALID, missingValue, run, typeMismatch, type Result, type Schema } from "./types.ts";

export interface ListOptions {
  readonly min?: number;
  readonly max?: number;
  /** Shown in count messages, e.g. "selector". */
  readonly what?: string;
}

function checkItems<T>(node: Node & { items: unknown[] }, item: Schema<T>, opts: ListOptions, ctx: ValidationContext): Result<T[]> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 10_000;
  const what = opts.what ?? "item";
  if (node.items.length < min) {
    ctx.error(node, min === 1 ? `at least one ${what} is required` : `at least ${min} ${what}s are required`, "schema.count");
    return INVALID;
  }
  if (node.items.length > max) {
    ctx.error(node, `at most ${max} ${what}s are allowed, got ${node.items.length}`, "schema.count");
    return INVALID;
  }
  const out: T[] = [];
  let ok = true;
  for (const child of node.items as Node[]) {
    const v = run(item, child, ctx);
    if (v === INVALID) ok = false;
    else out.push(v);
  }
  return ok ? out : INVALID;
}

export function list<T>(item: Schema<T>, opts: ListOptions = {}): Schema<T[]> {
  const expected = "list";
  return {
    expected,
    check(node, ctx) {
      if (!isSeq(node)) return typeMismatch(expected, node, ctx);
      return checkItems(node, item, opts, ctx);
    },
  };
}

/** A single value or a list of alternatives; always yields a list. */
export function oneOrMany<T>(item: Schema<T>, opts: ListOptions = {}): Schema<T[]> {
  return {
    expected: `${item.expected} or list of ${item.expected}`,
    check(node, ctx) {
      if (isSeq(node)) return checkItems(node, item, { min: 1, ...opts }, ctx);
      const v = item.check(node, ctx);
      return v === INVALID ? INVALID : [v];
    },
  };
}

export interface MapOptions {
  /** Validates each key (given the key's node); default: any non-empty string. */
  readonly key?: Schema<string>;
  readonly min?: number;
  readonly max?: number;
  readonly what?: string;
}

/** String key of a pair, or undefined after reporting a non-string key. */
export function keyName(pair: { key: unknown }, map: YAMLMap, ctx: ValidationContext): string | undefined {
  const key = pair.key as Node | null;
  if (isScalar(key) && typeof key.value === "string") return key.value;
  if (key) typeMismatch("string key", key, ctx);
  else ctx.error(map, "mapping entry without a key", "schema.type");
  return undefined;
}

/** A map from string keys to values of one schema, e.g. labels. */
export function stringMap<V>(value: Schema<V>, opts: MapOptions = {}): Schema<Record<string, V>> {
  const expected = "map";
  return {
    expected,
    check(node, ctx) {
      if (!isMap(node)) return typeMismatch(expected, node, ctx);
      const what = opts.what ?? "entry";
      if (node.items.length < (opts.min ?? 0)) {
        ctx.error(node, `at least ${opts.min === 1 ? "one" : opts.min} ${what}${opts.min === 1 ? " is" : "s are"} required`, "schema.count");
        return INVALID;
      }
      if (node.items.length > (opts.max ?? 1_000)) {
        ctx.error(node, `at most ${opts.max ?? 1_000} ${what}s are allowed`, "schema.count");
        return INVALID;
      }
      const entries: Array<[string, V]> = [];
      let ok = true;
      for (const pair of node.items) {
        const k = keyName(pair, node, ctx);
        if (k === undefined || (opts.key && opts.key.check(pair.key as Node, ctx) === INVALID)) {
          ok = false;
          continue;
        }
        const valueNode = pair.value as Node | null;
        const v = valueNode ? run(value, valueNode, ctx) : missingValue(value.expected, pair.key as Node, ctx);
        if (v === INVALID) ok = false;
        else entries.push([k, v]);
      }
      // fromEntries defines own properties, so a key like "__proto__" stays plain data.
      return ok ? Object.fromEntries(entries) : INVALID;
    },
  };
}
