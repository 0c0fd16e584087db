/** Destination host → lookup key (lowercase name or canonical IP) plus integer forms, without allocation. */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6, unmapIPv4 } from "../net/ip.ts";

export interface ParsedDestination {
  key: string;
  kind: "hostname" | "ipv4" | "ipv6";
  /** IPv4 as uint32, -1 when not IPv4. */
  v4: number;
  v6: bigint | undefined;
}

/** Fill `out` from `host` (reused by the caller: the hot path allocates nothing for names and IPv4). */
export function parseDestination(host: string, out: ParsedDestination): ParsedDestination {
  out.v4 = -1;
  out.v6 = undefined;
  const c0 = host.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    const v4 = parseIPv4(host);
    if (v4 !== undefined) {
      out.key = host;
      out.kind = "ipv4";
      out.v4 = v4;
      return out;
    }
  }
  if (c0 === 91 /* [ */ || host.includes(":")) {
    const inner = c0 === 91 && host.endsWith("]") ? host.slice(1, -1) : host;
    const v6 = parseIPv6(inner);
    if (v6 !== undefined) {
      const mapped = unmapIPv4(v6);
      if (mapped !== undefined) {
        out.key = formatIPv4(mapped);
        out.kind = "ipv4";
        out.v4 = mapped;
      } else {
        out.key = formatIPv6(v6);
        out.kind = "ipv6";
        out.v6 = v6;
      }
      return out;
    }
  }
  let name = host.toLowerCase();
  if (name.charCodeAt(name.length - 1) === 46) name = name.slice(0, -1);
  out.key = name;
  out.kind = "hostname";
  return out;
}

export function newParsedDestination(): ParsedDestination {
  return { key: "", kind: "hostname", v4: -1, v6: undefined };
}
