/** Egress rules → compiled rules, and the allow decisions they produce. */
import { formatPos } from "../../schema/index.ts";
import { EMPTY_ARRAY } from "../freeze.ts";
import type { LabelIndex } from "../labels.ts";
import type { EgressRuleSpec, Labels } from "../types.ts";
import type { DecisionFactory, MatchRule } from "./matcher.ts";
import type { CompiledRule, CompiledService, CompiledTarget, RuleRef } from "./model.ts";
import { ruleText } from "./rule-text.ts";

/** Service names per label selector, memoised for one compile (workloads often share selectors). */
export class Selections {
  readonly #cache = new Map<string, readonly string[]>();
  constructor(private readonly index: LabelIndex<CompiledService>) {}

  names(labels: Labels): readonly string[] {
    const key = JSON.stringify(labels);
    let names = this.#cache.get(key);
    if (!names) {
      const picked = this.index.select(labels);
      this.#cache.set(key, (names = picked.length === 0 ? EMPTY_ARRAY : picked.map((s) => s.name)));
    }
    return names;
  }
}

export function compileRules(rules: readonly EgressRuleSpec[], origin: RuleRef["origin"], services: Selections): MatchRule[] {
  return rules.map((spec, i) => {
    const t = spec.target;
    const target: CompiledTarget = t.type === "cidr" ? { type: "cidr", cidr: t.cidr.text } : t;
    const rule: CompiledRule = {
      kind: t.type,
      origin,
      index: i + 1,
      file: spec.at.file,
      line: spec.at.line,
      col: spec.at.col,
      text: ruleText(spec),
      target,
      ports: spec.ports.length === 0 ? EMPTY_ARRAY : spec.ports,
      protocol: spec.protocol,
      services: t.type === "services" ? services.names(t.labels) : EMPTY_ARRAY,
    };
    return t.type === "cidr" ? { rule, cidr: t.cidr } : { rule };
  });
}

const refs = new WeakMap<CompiledRule, RuleRef>();

/** The rule's identity as reported in decisions; one frozen object per rule, shared. */
function refOf(rule: CompiledRule): RuleRef {
  let ref = refs.get(rule);
  if (!ref) {
    const { kind, origin, index, file, line, col, text } = rule;
    refs.set(rule, (ref = Object.freeze({ kind, origin, index, file, line, col, text })));
  }
  return ref;
}

/** Decisions for rules of one owner, e.g. `WorkloadIdentity "claude" egress`. */
export function allowDecisions(owner: string): DecisionFactory {
  return (rule, service) => {
    const reason = `allowed by ${owner} #${rule.index} (${rule.text}) at ${formatPos(rule)}`;
    return Object.freeze(service !== undefined ? { verdict: "allow" as const, reason, rule: refOf(rule), service } : { verdict: "allow" as const, reason, rule: refOf(rule) });
  };
}
