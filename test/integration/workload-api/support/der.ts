/**
 * A minimal DER writer and X.509 certificate builder for tests: enough for a CA root and
 * X.509-SVID leaves (ECDSA P-256, SHA-256) that node:crypto and grpc clients parse and verify.
 */
import { sign, type KeyObject } from "node:crypto";

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return [0x80 | bytes.length, ...bytes];
}

export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  return Buffer.concat([Uint8Array.from([tag, ...length(body.length)]), body]);
}

export const seq = (...items: Uint8Array[]) => tlv(0x30, ...items);
export const set = (...items: Uint8Array[]) => tlv(0x31, ...items);
export const bool = (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0));
export const octets = (v: Uint8Array) => tlv(0x04, v);
export const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
export const explicit = (n: number, content: Uint8Array) => tlv(0xa0 | n, content);

export function integer(bytes: Uint8Array): Uint8Array {
  let b = Buffer.from(bytes);
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  if (b[0]! & 0x80) b = Buffer.concat([Uint8Array.of(0), b]);
  return tlv(0x02, b);
}

export function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const out = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [];
    let v = p;
    do {
      chunk.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

export function bitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  return tlv(0x03, Uint8Array.of(unusedBits), bytes);
}

function time(d: Date): Uint8Array {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

export interface CertSpec {
  serial: Uint8Array;
  issuerCN: string;
  subjectCN: string;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo */
  spki: Uint8Array;
  ca: boolean;
  uriSans?: string[];
  signer: KeyObject;
}

const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), utf8(cn))));
const ext = (id: string, critical: boolean, value: Uint8Array) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

export function buildCertificate(spec: CertSpec): Uint8Array {
  const extensions = [
    ext("2.5.29.19", true, spec.ca ? seq(bool(true)) : seq()),
    // keyUsage: CA keyCertSign|cRLSign (bits 5, 6); leaf digitalSignature (bit 0)
    ext("2.5.29.15", true, spec.ca ? bitString(Uint8Array.of(0x06), 1) : bitString(Uint8Array.of(0x80), 7)),
  ];
  if (!spec.ca) extensions.push(ext("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))));
  if (spec.uriSans?.length) extensions.push(ext("2.5.29.17", false, seq(...spec.uriSans.map((u) => tlv(0x86, Buffer.from(u))))));
  const tbs = seq(
    explicit(0, integer(Uint8Array.of(2))),
    integer(spec.serial),
    ECDSA_SHA256,
    name(spec.issuerCN),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subjectCN),
    spec.spki,
    explicit(3, seq(...extensions)),
  );
  const signature = sign("sha256", tbs, spec.signer); // DER-encoded ECDSA signature
  return seq(tbs, ECDSA_SHA256, bitString(signature));
}
