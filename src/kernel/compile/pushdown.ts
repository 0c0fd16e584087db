/**
 * Push-down: the LPM trie answers with the longest matching prefix only, so each prefix's value
 * must already hold the ports of every shorter prefix (same workload) covering it. For an address,
 * the prefixes containing it form a chain; the longest one's value = the union over the chain =
 * exactly what the rules allow there.
 */
import type { RuleRef } from "../../policy/index.ts";
import { MAX_RANGES, RANGE_FLAGS, PROTO_MASK, type PortRangeValue } from "../layout.ts";
import { KernelCompileError } from "./errors.ts";
import { PortSet } from "./ports.ts";
import { maskTo, prefixBytes, prefixKey, prefixText, type Prefix } from "./prefixes.ts";
import type { LpmEntry } from "./types.ts";

/**
 * What one rule allows on one prefix. `order`: the rule's position (alwaysAllow first).
 * `redirect`: the ports (TCP only is kept) whose connects go to the proxy instead.
 */
export interface Contribution {
  readonly prefix: Prefix;
  readonly ports: PortSet;
  readonly redirect?: PortSet;
  readonly ruleId: number;
  readonly order: number;
  readonly rule: RuleRef;
}

interface Node {
  readonly prefix: Prefix;
  ports: PortSet;
  redirect: PortSet;
  readonly own: Contribution[];
}

/**
 * REDIRECT ranges (TCP only) first, then the allowed ones: the kernel takes the first matching
 * range, so a Service port is redirected even where a broader rule also allows it.
 */
function renderValue(ports: PortSet, redirect: PortSet): { allPortsMask: number; ranges: PortRangeValue[] } {
  const r = redirect.only(PROTO_MASK.TCP).render();
  const redirected: PortRangeValue[] = r.ranges.map((x) => ({ ...x, flags: RANGE_FLAGS.REDIRECT }));
  if (r.allPortsMask) redirected.push({ lo: 1, hi: 65_535, protoMask: r.allPortsMask, flags: RANGE_FLAGS.REDIRECT });
  const a = ports.render();
  return { allPortsMask: a.allPortsMask, ranges: [...redirected, ...a.ranges] };
}

export function pushDown(workload: number, owner: string, contributions: readonly Contribution[]): LpmEntry[] {
  const nodes = new Map<string, Node>();
  for (const c of contributions) {
    const key = prefixKey(c.prefix);
    const n = nodes.get(key);
    const redirect = c.redirect ?? new PortSet();
    if (n) {
      n.ports = n.ports.union(c.ports);
      n.redirect = n.redirect.union(redirect);
      n.own.push(c);
    } else nodes.set(key, { prefix: c.prefix, ports: c.ports, redirect, own: [c] });
  }
  const out: LpmEntry[] = [];
  for (const n of nodes.values()) {
    let ports = n.ports;
    let redirect = n.redirect;
    const covering: Node[] = [];
    for (let len = n.prefix.len - 1; len >= 0; len--) {
      const up = nodes.get(prefixKey(maskTo(n.prefix, len)));
      if (up) {
        ports = ports.union(up.ports);
        redirect = redirect.union(up.redirect);
        covering.push(up);
      }
    }
    const { allPortsMask, ranges } = renderValue(ports, redirect);
    const cidr = prefixText(n.prefix);
    if (ranges.length > MAX_RANGES) {
      const rules = [...n.own, ...covering.flatMap((c) => c.own)].sort((a, b) => a.order - b.order).map((c) => c.rule);
      const unique = [...new Set(rules)];
      const list = unique.map((r) => `${r.file}:${r.line} (${r.text})`).join("; ");
      throw new KernelCompileError(
        `${owner}: ${cidr} needs ${ranges.length} port ranges after merging the rules that cover it, the kernel holds at most ${MAX_RANGES}: ${list}. ` +
          `Merge ports into ranges (e.g. 8000-8100) or narrow the broader rules; the previous policy stays in force`,
        owner,
        cidr,
        unique,
      );
    }
    const ruleId = [...n.own].sort((a, b) => a.order - b.order)[0]!.ruleId;
    out.push({ family: n.prefix.family, workload, prefixLen: n.prefix.len, addr: prefixBytes(n.prefix), cidr, value: { ruleId, allPortsMask, ranges } });
  }
  return out;
}
