/**
 * IP address parsing to integers and canonical text. IPv4 is a uint32 in a number, IPv6 a bigint.
 * IPv4 is strict dotted-quad without leading zeros ("010.0.0.1" is ambiguous: octal in some libcs).
 */

export type IP = { readonly family: 4; readonly value: number } | { readonly family: 6; readonly value: bigint };

export function parseIPv4(s: string): number | undefined {
  const n = s.length;
  if (n < 7 || n > 15) return undefined;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || parts === 4) return undefined;
      value = value * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return undefined;
      digits++;
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

export function formatIPv4(v: number): string {
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(parts: string[], allowV4Tail: boolean): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (allowV4Tail && i === parts.length - 1 && p.includes(".")) {
      const v4 = parseIPv4(p);
      if (v4 === undefined) return undefined;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (HEX_GROUP.test(p)) out.push(parseInt(p, 16));
    else return undefined;
  }
  return out;
}

/** RFC 4291 §2.2 text forms, including `::` and a dotted-quad tail; no zone index. */
export function parseIPv6(s: string): bigint | undefined {
  if (s.length < 2 || s.length > 45 || !s.includes(":")) return undefined;
  const dbl = s.indexOf("::");
  if (dbl !== -1 && s.indexOf("::", dbl + 1) !== -1) return undefined;
  let groups: number[] | undefined;
  if (dbl === -1) {
    groups = parseGroups(s.split(":"), true);
    if (!groups || groups.length !== 8) return undefined;
  } else {
    const head = s.slice(0, dbl);
    const tail = s.slice(dbl + 2);
    const h = head === "" ? [] : parseGroups(head.split(":"), false);
    const t = tail === "" ? [] : parseGroups(tail.split(":"), true);
    if (!h || !t || h.length + t.length > 7) return undefined;
    groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** RFC 5952 canonical text: lowercase, no leading zeros, longest zero run (≥ 2 groups) as `::`. */
export function formatIPv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) → the IPv4 address, else undefined. */
export function unmapIPv4(v6: bigint): number | undefined {
  return (v6 & MAPPED_MASK) === MAPPED_PREFIX ? Number(v6 & 0xffffffffn) : undefined;
}

/** Parse either family; IPv4-mapped IPv6 becomes IPv4 (the kernel sees it that way on dual-stack sockets). */
export function parseIP(s: string): IP | undefined {
  const v4 = parseIPv4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(s);
  if (v6 === undefined) return undefined;
  const mapped = unmapIPv4(v6);
  return mapped === undefined ? { family: 6, value: v6 } : { family: 4, value: mapped };
}

export function formatIP(ip: IP): string {
  return ip.family === 4 ? formatIPv4(ip.value) : formatIPv6(ip.value);
}
