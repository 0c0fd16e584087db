/** Label selectors over Services: an index so selecting among 10k Services stays cheap. */
import type { Labels } from "./types.ts";

export function labelsMatch(selector: Labels, labels: Labels): boolean {
  for (const k in selector) if (!Object.hasOwn(labels, k) || labels[k] !== selector[k]) return false;
  return true;
}

export function formatLabels(labels: Labels): string {
  return `{${Object.entries(labels).map(([k, v]) => `${k}: ${v}`).join(", ")}}`;
}

const EMPTY: readonly never[] = Object.freeze([]);

/** Items by label pair; `select` intersects starting from the rarest pair. Preserves insertion order. */
export class LabelIndex<T extends { readonly labels: Labels }> {
  readonly #byPair = new Map<string, Map<string, T[]>>();

  constructor(items: Iterable<T>) {
    for (const item of items) {
      for (const [k, v] of Object.entries(item.labels)) {
        let values = this.#byPair.get(k);
        if (!values) this.#byPair.set(k, (values = new Map()));
        let list = values.get(v);
        if (!list) values.set(v, (list = []));
        list.push(item);
      }
    }
  }

  /** Frozen on first exposure (freezing 10k small arrays up front would dominate compile time). */
  withLabel(key: string, value: string): readonly T[] {
    const list = this.#byPair.get(key)?.get(value);
    return list === undefined ? EMPTY : Object.isFrozen(list) ? list : Object.freeze(list);
  }

  select(selector: Labels): T[] {
    let smallest: readonly T[] | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const list = this.#byPair.get(k)?.get(v) ?? EMPTY;
      if (smallest === undefined || list.length < smallest.length) smallest = list;
      if (list.length === 0) return [];
    }
    if (smallest === undefined) return [];
    return smallest.filter((item) => labelsMatch(selector, item.labels));
  }
}
