/** Canonical one-line text of an egress rule, as shown in decisions and `policy explain`. */
import { formatLabels } from "../labels.ts";
import type { EgressRuleSpec, PortRange } from "../types.ts";

export function formatPorts(ports: readonly PortRange[]): string {
  return `[${ports.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`)).join(", ")}]`;
}

export function ruleText(rule: EgressRuleSpec): string {
  const t = rule.target;
  const parts = [t.type === "services" ? `services: ${formatLabels(t.labels)}` : t.type === "cidr" ? `cidr: ${t.cidr.text}` : `host: ${t.host}`];
  if (rule.ports.length > 0) parts.push(`ports: ${formatPorts(rule.ports)}`);
  if (rule.protocol !== "any") parts.push(`protocol: ${rule.protocol}`);
  return parts.join(", ");
}
