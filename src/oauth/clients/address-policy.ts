/**
 * SSRF protection for documents sluice fetches on a client's behalf (Client ID Metadata Documents,
 * jwks_uri): the special-use ranges of the IANA registries (RFC 6890 and successors), each tagged
 * with its RFC. The default policy allows only addresses outside all of them.
 */
import { parseCidr, parseIP, type Cidr } from "../../policy/index.ts";

/** Decides whether sluice may connect to a resolved address. */
export type AddressPolicy = (address: string) => boolean;

const SPECIAL_USE: readonly [cidr: string, why: string][] = [
  ["0.0.0.0/8", "this network (RFC 791)"],
  ["10.0.0.0/8", "private (RFC 1918)"],
  ["100.64.0.0/10", "shared address space / CGNAT (RFC 6598)"],
  ["127.0.0.0/8", "loopback (RFC 1122)"],
  ["169.254.0.0/16", "link-local (RFC 3927)"],
  ["172.16.0.0/12", "private (RFC 1918)"],
  ["192.0.0.0/24", "IETF protocol assignments (RFC 6890)"],
  ["192.0.2.0/24", "documentation TEST-NET-1 (RFC 5737)"],
  ["192.88.99.0/24", "6to4 relay anycast (RFC 7526)"],
  ["192.168.0.0/16", "private (RFC 1918)"],
  ["198.18.0.0/15", "benchmarking (RFC 2544)"],
  ["198.51.100.0/24", "documentation TEST-NET-2 (RFC 5737)"],
  ["203.0.113.0/24", "documentation TEST-NET-3 (RFC 5737)"],
  ["224.0.0.0/4", "multicast (RFC 5771)"],
  ["255.255.255.255/32", "limited broadcast (RFC 919)"],
  ["240.0.0.0/4", "reserved (RFC 1112)"],
  ["::/128", "unspecified (RFC 4291)"],
  ["::1/128", "loopback (RFC 4291)"],
  ["64:ff9b::/96", "IPv4/IPv6 translation (RFC 6052): may reach any IPv4 address"],
  ["64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)"],
  ["100::/64", "discard-only (RFC 6666)"],
  ["2001::/23", "IETF protocol assignments, incl. Teredo (RFC 2928, RFC 4380)"],
  ["2001:db8::/32", "documentation (RFC 3849)"],
  ["2002::/16", "6to4 (RFC 3056): may reach any IPv4 address"],
  ["3fff::/20", "documentation (RFC 9637)"],
  ["fc00::/7", "unique local (RFC 4193)"],
  ["fe80::/10", "link-local (RFC 4291)"],
  ["fec0::/10", "site-local, deprecated (RFC 3879)"],
  ["ff00::/8", "multicast (RFC 4291)"],
];

const RANGES: readonly { cidr: Cidr; why: string }[] = SPECIAL_USE.map(([text, why]) => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`address-policy: ${parsed.message}`);
  return { cidr: parsed.cidr, why };
});

/** Why `address` is special-use (e.g. "loopback (RFC 1122)"), or undefined for a public address. Unparseable → "not an IP address". */
export function specialUseReason(address: string): string | undefined {
  const ip = parseIP(address.startsWith("[") ? address.slice(1, -1) : address);
  if (!ip) return "not an IP address";
  const value = BigInt(ip.value);
  for (const { cidr, why } of RANGES) if (cidr.family === ip.family && value >= cidr.first && value <= cidr.last) return why;
  return undefined;
}

/** The default: public unicast addresses only. */
export const publicAddressesOnly: AddressPolicy = (address) => specialUseReason(address) === undefined;
