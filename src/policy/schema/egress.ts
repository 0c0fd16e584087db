/**
 * An egress rule (WorkloadIdentity.egress, HostPolicy.alwaysAllow): exactly one of `services`,
 * `cidr`, `host`, plus optional `ports` and `protocol`.
 */
import * as s from "../../schema/index.ts";
import { parseCidr, type Cidr } from "../net/cidr.ts";
import { canonicalHost, hostnameProblem } from "../net/host.ts";
import type { EgressRuleSpec, EgressTarget } from "../types.ts";
import { labelSelector, portSpec } from "./common.ts";

export const cidr: s.Schema<Cidr> = s.refine(s.string({ what: "CIDR", maxLength: 64 }), (v, node, ctx) => {
  const r = parseCidr(v);
  if (!r.ok) {
    ctx.error(node, r.message, "policy.cidr");
    return s.INVALID;
  }
  if (r.cidr.prefix === 0)
    ctx.warning(node, `${r.cidr.text} allows every IPv${r.cidr.family} address; prefer the narrowest block that works`, "policy.broad-cidr");
  return r.cidr;
});

const host: s.Schema<string> = s.refine(s.string({ what: "host", maxLength: 300 }), (v, node, ctx) => {
  const h = canonicalHost(v);
  if (h && h.kind !== "hostname") {
    ctx.error(node, `host ${JSON.stringify(v)} is an IP address; use \`cidr: ${h.value}/${h.kind === "ipv4" ? 32 : 128}\``, "policy.host");
    return s.INVALID;
  }
  if (!h) {
    const name = (v.endsWith(".") ? v.slice(0, -1) : v).toLowerCase();
    const hint = v.includes("://") || v.includes(":") ? `host ${JSON.stringify(v)} must be a DNS name alone (no scheme or port; use \`ports\`)` : hostnameProblem(name);
    ctx.error(node, hint ?? `invalid host ${JSON.stringify(v)}`, "policy.host");
    return s.INVALID;
  }
  return h.value;
});

const TARGETS = ["services", "cidr", "host"] as const;

const ruleObject = s.object(
  {
    services: s.optional(labelSelector),
    cidr: s.optional(cidr),
    host: s.optional(host),
    ports: s.optional(s.list(portSpec, { min: 1, max: 256, what: "port" })),
    protocol: s.withDefault(s.enumOf(["tcp", "udp", "any"], { what: "protocol" }), "any"),
  },
  {
    what: "egress rule",
    check(v, at, ctx) {
      const set = TARGETS.filter((t) => v[t] !== undefined);
      if (set.length === 0) {
        ctx.error(at.map, "egress rule needs exactly one of `services`, `cidr` or `host`", "policy.egress-rule");
        return false;
      }
      if (set.length > 1) {
        ctx.error(at.key(set[1]!), `\`${set[1]}\` cannot be combined with \`${set[0]}\` in one egress rule; write two rules`, "policy.egress-rule");
        return false;
      }
      if (v.services !== undefined && v.ports !== undefined) {
        ctx.error(at.key("ports"), "`ports` cannot be used with `services`: the ports come from the Service addresses", "policy.egress-rule");
        return false;
      }
      return true;
    },
  },
);

export const egressRule: s.Schema<EgressRuleSpec> = s.refine(s.located(ruleObject), ({ value: v, at }) => {
  const target: EgressTarget =
    v.services !== undefined
      ? { type: "services", labels: v.services }
      : v.cidr !== undefined
        ? { type: "cidr", cidr: v.cidr }
        : { type: "host", host: v.host! };
  return { target, ports: v.ports ?? [], protocol: v.protocol, at };
});

export const egressRules = s.list(egressRule, { max: 10_000, what: "egress rule" });
