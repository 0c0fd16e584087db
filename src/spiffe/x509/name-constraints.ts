/**
 * URI and DNS name constraints (RFC 5280 §4.2.1.10; X509-SVID §4.2). Other name forms in a
 * constraint are not supported: such a path is rejected rather than half-checked.
 */
import type { GeneralName } from "./general-names.ts";
import type { ParsedCertificate } from "./parse.ts";

/** Why `subject`'s names break `ca`'s constraints, or undefined. */
export function nameConstraintProblem(ca: ParsedCertificate, subject: ParsedCertificate): string | undefined {
  const nc = ca.nameConstraints;
  if (!nc) return undefined;
  if ([...nc.permitted, ...nc.excluded].some((n) => n.type === "other")) return "name constraints of a type other than URI or DNS are not supported";
  const names = subject.subjectAltName?.names ?? [];
  for (const name of names) {
    if (name.type === "other") continue;
    const host = name.type === "uri" ? uriHost(name.value) : name.value.toLowerCase();
    if (host === undefined) return `URI ${name.value} has no host to check against name constraints`;
    const permitted = nc.permitted.filter((c) => c.type === name.type);
    if (permitted.length && !permitted.some((c) => matches(name.type, host, c))) return `${name.value} is outside the permitted subtrees`;
    if (nc.excluded.some((c) => c.type === name.type && matches(name.type, host, c))) return `${name.value} is in an excluded subtree`;
  }
  return undefined;
}

function matches(type: "uri" | "dns", host: string, constraint: GeneralName): boolean {
  if (constraint.type === "other") return false;
  const c = constraint.value.toLowerCase();
  if (c.startsWith(".")) return host.endsWith(c);
  // URI: a host constraint matches that host only; DNS: the name or any name below it.
  return host === c || (type === "dns" && (c === "" || host.endsWith(`.${c}`)));
}

function uriHost(uri: string): string | undefined {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^:/?#]+)/.exec(uri);
  return m?.[1]?.toLowerCase();
}
