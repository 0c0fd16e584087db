/** Address prefixes as (family, length, value) with containment and the byte form LPM keys use. */
import { formatIP, parseCidr, parseIP } from "../../policy/index.ts";
import type { Family } from "./types.ts";

export interface Prefix {
  readonly family: Family;
  readonly len: number;
  /** Network address (host bits zero); IPv4 in the low 32 bits. */
  readonly value: bigint;
}

export const bitsOf = (f: Family) => (f === 4 ? 32 : 128);

export function maskTo(p: Prefix, len: number): Prefix {
  const bits = bitsOf(p.family);
  const host = (1n << BigInt(bits - len)) - 1n;
  return { family: p.family, len, value: p.value & ~host & ((1n << BigInt(bits)) - 1n) };
}

export function prefixKey(p: Prefix): string {
  return `${p.family}/${p.len}/${p.value.toString(16)}`;
}

export function prefixText(p: Prefix): string {
  const ip = p.family === 4 ? { family: 4 as const, value: Number(p.value) } : { family: 6 as const, value: p.value };
  return `${formatIP(ip)}/${p.len}`;
}

export function prefixBytes(p: Prefix): Uint8Array {
  const n = bitsOf(p.family) / 8;
  const out = new Uint8Array(n);
  let v = p.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A single address (v4-mapped IPv6 becomes IPv4, as the kernel looks it up) → /32 or /128. */
export function hostPrefix(text: string): Prefix | undefined {
  const ip = parseIP(text);
  if (!ip) return undefined;
  return ip.family === 4 ? { family: 4, len: 32, value: BigInt(ip.value) } : { family: 6, len: 128, value: ip.value };
}

/** Canonical CIDR text (as compiled rules carry it) → prefix. */
export function cidrPrefix(text: string): Prefix {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(`compiled rule has an invalid CIDR ${text}: ${r.message}`);
  return { family: r.cidr.family, len: r.cidr.prefix, value: r.cidr.first };
}

export function contains(p: Prefix, addr: bigint): boolean {
  return maskTo({ family: p.family, len: bitsOf(p.family), value: addr }, p.len).value === p.value;
}
