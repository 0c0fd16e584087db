/** CIDR blocks: parse, reject host bits (with the fix), canonical text, integer bounds. */
import { formatIP, parseIPv4, parseIPv6, unmapIPv4, type IP } from "./ip.ts";

export interface Cidr {
  readonly family: 4 | 6;
  readonly prefix: number;
  /** First and last address, inclusive (IPv4 in the low 32 bits). */
  readonly first: bigint;
  readonly last: bigint;
  /** Canonical text, e.g. "10.0.0.0/8", "2001:db8::/32". */
  readonly text: string;
}

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; message: string };

const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

function bounds(bits: number, value: bigint, prefix: number): { first: bigint; last: bigint; hostBits: bigint } {
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const first = value & ~hostMask;
  return { first, last: first | hostMask, hostBits: value & hostMask };
}

/** `10.0.0.0/8`, `2001:db8::/32`; a bare address means a single host (/32 or /128). */
export function parseCidr(input: string): CidrResult {
  const slash = input.indexOf("/");
  const addr = slash === -1 ? input : input.slice(0, slash);
  const prefixText = slash === -1 ? undefined : input.slice(slash + 1);
  let family: 4 | 6;
  let value: bigint;
  const v4 = parseIPv4(addr);
  if (v4 !== undefined) {
    family = 4;
    value = BigInt(v4);
  } else {
    const v6 = parseIPv6(addr);
    if (v6 === undefined) return { ok: false, message: `invalid CIDR "${input}": "${addr}" is not an IPv4 or IPv6 address` };
    family = 6;
    value = v6;
  }
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!PREFIX.test(prefixText) || Number(prefixText) > bits)
      return { ok: false, message: `invalid CIDR "${input}": prefix length must be 0-${bits}` };
    prefix = Number(prefixText);
  }
  // ::ffff:a.b.c.d/n with n ≥ 96 is an IPv4 block written in IPv6 form.
  if (family === 6 && prefix >= 96 && unmapIPv4(value) !== undefined) {
    family = 4;
    value = BigInt(unmapIPv4(value)!);
    prefix -= 96;
  }
  const b = bounds(family === 4 ? 32 : 128, value, prefix);
  const ip = (v: bigint): IP => (family === 4 ? { family: 4, value: Number(v) } : { family: 6, value: v });
  const text = `${formatIP(ip(b.first))}/${prefix}`;
  if (b.hostBits !== 0n) return { ok: false, message: `host bits set in "${input}"; did you mean ${text}?` };
  return { ok: true, cidr: { family, prefix, first: b.first, last: b.last, text } };
}
