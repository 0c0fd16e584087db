/**
 * Destination hosts: DNS names (case-insensitive, trailing dot ignored) or IP literals (canonical
 * text, IPv4-mapped IPv6 as IPv4). One canonical string per host, so lookups are exact matches.
 */
import { formatIPv6, parseIPv4, parseIPv6, unmapIPv4, formatIPv4 } from "./ip.ts";

export type HostKind = "hostname" | "ipv4" | "ipv6";

export interface CanonicalHost {
  readonly kind: HostKind;
  /** Lowercase name without trailing dot, or canonical IP text. */
  readonly value: string;
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
const DIGITS_AND_DOTS = /^[0-9.]+$/;

/** Why `name` (already lowercased, no trailing dot) is not a usable DNS name, or undefined. */
export function hostnameProblem(name: string): string | undefined {
  if (name.length === 0) return "host name must not be empty";
  if (name.length > 253) return `host name "${name.slice(0, 40)}…" is longer than 253 characters`;
  if (name.includes("*")) return `wildcards are not supported in "${name}": sluice resolves host names to addresses; list each name`;
  if (DIGITS_AND_DOTS.test(name)) return `"${name}" is not a valid IPv4 address`;
  for (const label of name.split(".")) {
    if (!LABEL.test(label))
      return `invalid host name "${name}": each dot-separated label must be 1-63 letters, digits, '-' or '_', not starting or ending with '-'`;
  }
  return undefined;
}

/** Canonicalize an address or name; `[v6]` brackets are accepted. Undefined when neither. */
export function canonicalHost(input: string): CanonicalHost | undefined {
  let s = input;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { kind: "ipv4", value: s };
  if (s.includes(":")) {
    const v6 = parseIPv6(s);
    if (v6 === undefined) return undefined;
    const mapped = unmapIPv4(v6);
    return mapped === undefined ? { kind: "ipv6", value: formatIPv6(v6) } : { kind: "ipv4", value: formatIPv4(mapped) };
  }
  const name = (s.endsWith(".") ? s.slice(0, -1) : s).toLowerCase();
  return hostnameProblem(name) === undefined ? { kind: "hostname", value: name } : undefined;
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost"]);

/** Loopback by name or address (127.0.0.0/8, ::1), for "http only on loopback" rules. */
export function isLoopbackHost(input: string): boolean {
  const h = canonicalHost(input);
  if (!h) return false;
  if (h.kind === "hostname") return LOOPBACK_NAMES.has(h.value) || h.value.endsWith(".localhost");
  if (h.kind === "ipv4") return h.value.startsWith("127.");
  return h.value === "::1";
}
