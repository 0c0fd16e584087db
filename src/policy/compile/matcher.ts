/**
 * First-match evaluation of an ordered rule list in O(1)/O(log n): exact host keys in a Map
 * (Service addresses, host rules), CIDR blocks in interval indexes. Each candidate builds its frozen
 * decision on first match and keeps it, so the hot path allocates nothing after warm-up.
 */
import type { Cidr } from "../net/cidr.ts";
import type { CompiledRule, CompiledService, EgressDecision } from "./model.ts";
import { IntervalIndex, type RangeEntry } from "./intervals.ts";

export const PROTO_TCP = 1;
export const PROTO_UDP = 2;

export type DecisionFactory = (rule: CompiledRule, service?: string) => EgressDecision;

/** One way a rule can match: a host key or address range, a port range, a protocol. */
export class Candidate {
  #decision: EgressDecision | undefined;

  constructor(
    /** Position of the rule in evaluation order. */
    readonly order: number,
    readonly from: number,
    readonly to: number,
    /** 0 any, 1 tcp, 2 udp. */
    readonly proto: number,
    readonly rule: CompiledRule,
    /** Services rules: the Service this candidate stands for. */
    readonly service: string | undefined,
    /** cidr/host rules: the Service at the destination (if any) is looked up per call. */
    readonly lookupService: boolean,
    private readonly make: DecisionFactory,
  ) {}

  /** Built on first use and kept: compile allocates no decisions, the hot path none after warm-up. */
  decision(): EgressDecision {
    return (this.#decision ??= this.make(this.rule, this.service));
  }
}

/** A compiled rule with the parsed CIDR bounds the matcher needs. */
export interface MatchRule {
  readonly rule: CompiledRule;
  readonly cidr?: Cidr;
}

const byOrder = (a: Candidate, b: Candidate) => a.order - b.order;
const PROTO = { any: 0, tcp: PROTO_TCP, udp: PROTO_UDP } as const;
const ANY_PORT = [{ from: 1, to: 65_535 }];

export class RuleMatcher {
  readonly #names = new Map<string, Candidate[]>();
  readonly #v4: IntervalIndex<number, Candidate>;
  readonly #v6: IntervalIndex<bigint, Candidate>;
  readonly #hasNames: boolean;
  readonly #hasV4: boolean;
  readonly #hasV6: boolean;
  readonly empty: boolean;

  /** `decide(i)` builds decisions for rules[i] (rules may come from different owners). */
  constructor(rules: readonly MatchRule[], services: ReadonlyMap<string, CompiledService>, decide: (order: number) => DecisionFactory) {
    const v4: Array<RangeEntry<number, Candidate>> = [];
    const v6: Array<RangeEntry<bigint, Candidate>> = [];
    for (let order = 0; order < rules.length; order++) {
      const { rule, cidr } = rules[order]!;
      const proto = PROTO[rule.protocol];
      const t = rule.target;
      if (t.type === "services") {
        for (const name of rule.services) {
          for (const a of services.get(name)!.addresses) this.#add(a.address, new Candidate(order, a.port, a.port, proto, rule, name, false, decide(order)));
        }
        continue;
      }
      const ranges = rule.ports.length > 0 ? rule.ports : ANY_PORT;
      for (const r of ranges) {
        const c = new Candidate(order, r.from, r.to, proto, rule, undefined, true, decide(order));
        if (t.type === "host") this.#add(t.host, c);
        else pushRange(cidr!, c, v4, v6);
      }
    }
    this.#v4 = new IntervalIndex(v4, (n) => n + 1, byOrder);
    this.#v6 = new IntervalIndex(v6, (n) => n + 1n, byOrder);
    this.#hasNames = this.#names.size > 0;
    this.#hasV4 = this.#v4.size > 0;
    this.#hasV6 = this.#v6.size > 0;
    this.empty = !this.#hasNames && !this.#hasV4 && !this.#hasV6;
  }

  #add(key: string, c: Candidate): void {
    const list = this.#names.get(key);
    if (list) list.push(c);
    else this.#names.set(key, [c]);
  }

  /** The first rule (lowest order) allowing `key`/`v4`/`v6` on `port`/`proto`. `v4` is -1 when not IPv4. */
  match(key: string, v4: number, v6: bigint | undefined, port: number, proto: number): Candidate | undefined {
    let best: Candidate | undefined;
    const named = this.#hasNames ? this.#names.get(key) : undefined;
    if (named !== undefined) {
      for (const c of named) {
        if (port >= c.from && port <= c.to && (c.proto === 0 || c.proto === proto)) {
          best = c;
          break;
        }
      }
    }
    const ranged = v4 >= 0 ? (this.#hasV4 ? this.#v4.lookup(v4) : undefined) : v6 !== undefined && this.#hasV6 ? this.#v6.lookup(v6) : undefined;
    if (ranged !== undefined) {
      for (const c of ranged) {
        if (best !== undefined && c.order >= best.order) break;
        if (port >= c.from && port <= c.to && (c.proto === 0 || c.proto === proto)) {
          best = c;
          break;
        }
      }
    }
    return best;
  }
}

function pushRange(cidr: Cidr, c: Candidate, v4: Array<RangeEntry<number, Candidate>>, v6: Array<RangeEntry<bigint, Candidate>>): void {
  if (cidr.family === 4) v4.push({ lo: Number(cidr.first), hi: Number(cidr.last), payload: c });
  else v6.push({ lo: cidr.first, hi: cidr.last, payload: c });
}
