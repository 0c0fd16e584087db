/**
 * A strict DER reader (X.690 §10): definite, minimal lengths only; primitive values checked
 * for their DER form. Throws `DerError` on anything else. Nodes are views into the input.
 */
import { DerError } from "../errors.ts";
import { TAG } from "./writer.ts";

export interface DerNode {
  readonly tag: number;
  /** Offset of the tag byte in `buf`. */
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
  readonly buf: Uint8Array;
}

/** Nesting deeper than this is not a certificate. */
const MAX_DEPTH = 32;

export function readNode(buf: Uint8Array, at: number, limit = buf.length): DerNode {
  if (at + 2 > limit) throw new DerError("truncated element");
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not supported");
  let len = buf[at + 1]!;
  let contentStart = at + 2;
  if (len === 0x80) throw new DerError("indefinite length is not DER");
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4) throw new DerError("length too large");
    if (contentStart + n > limit) throw new DerError("truncated length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[contentStart + i]!;
    if (buf[contentStart] === 0 || len < 0x80) throw new DerError("length is not minimally encoded");
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError("element runs past its container");
  return { tag, start: at, contentStart, end, buf };
}

/** Parse `buf` as exactly one element (no trailing bytes). */
export function readRoot(buf: Uint8Array): DerNode {
  const node = readNode(buf, 0);
  if (node.end !== buf.length) throw new DerError("trailing data after the element");
  return node;
}

export function expectTag(node: DerNode, tag: number, what: string): DerNode {
  if (node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  return node;
}

export function children(node: DerNode, depth = 0): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError(`tag 0x${node.tag.toString(16)} is not constructed`);
  if (depth > MAX_DEPTH) throw new DerError("nesting too deep");
  const out: DerNode[] = [];
  for (let at = node.contentStart; at < node.end; ) {
    const child = readNode(node.buf, at, node.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

export const content = (node: DerNode): Uint8Array => node.buf.subarray(node.contentStart, node.end);
export const encoded = (node: DerNode): Uint8Array => node.buf.subarray(node.start, node.end);

export function readBoolean(node: DerNode): boolean {
  expectTag(node, TAG.boolean, "BOOLEAN");
  const c = content(node);
  if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) throw new DerError("BOOLEAN is not DER (must be 0x00 or 0xff)");
  return c[0] === 0xff;
}

/** INTEGER as unsigned magnitude bytes; negative values rejected. */
export function readUnsignedInteger(node: DerNode): Uint8Array {
  expectTag(node, TAG.integer, "INTEGER");
  const c = content(node);
  if (c.length === 0) throw new DerError("empty INTEGER");
  if (c.length > 1 && ((c[0] === 0 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0)))
    throw new DerError("INTEGER is not minimally encoded");
  if ((c[0]! & 0x80) !== 0) throw new DerError("negative INTEGER");
  return c[0] === 0 && c.length > 1 ? c.subarray(1) : c;
}

export function readSmallInteger(node: DerNode): number {
  const bytes = readUnsignedInteger(node);
  if (bytes.length > 6) throw new DerError("INTEGER too large");
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

export function readOid(node: DerNode): string {
  expectTag(node, TAG.oid, "OBJECT IDENTIFIER");
  const c = content(node);
  if (c.length === 0 || c[c.length - 1]! & 0x80) throw new DerError("malformed OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let v = 0;
  let fresh = true;
  for (const b of c) {
    if (fresh && b === 0x80) throw new DerError("OBJECT IDENTIFIER arc is not minimally encoded");
    v = v * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join(".");
}

export function readBitString(node: DerNode): { bytes: Uint8Array; unusedBits: number } {
  expectTag(node, TAG.bitString, "BIT STRING");
  const c = content(node);
  if (c.length === 0) throw new DerError("empty BIT STRING");
  const unusedBits = c[0]!;
  if (unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) throw new DerError("malformed BIT STRING");
  const bytes = c.subarray(1);
  if (unusedBits && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1))) throw new DerError("BIT STRING padding bits are not zero");
  return { bytes, unusedBits };
}

/** The set bit numbers of a named-bit BIT STRING (bit 0 = MSB of the first octet). */
export function readNamedBits(node: DerNode): Set<number> {
  const { bytes, unusedBits } = readBitString(node);
  const out = new Set<number>();
  const total = bytes.length * 8 - unusedBits;
  for (let i = 0; i < total; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) out.add(i);
  return out;
}

export function readString(node: DerNode): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(content(node));
}

const UTC = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** RFC 5280 §4.1.2.5.1/.2: UTCTime (YY ≥ 50 → 19YY) or GeneralizedTime, seconds, `Z`. → ms. */
export function readTime(node: DerNode): number {
  const s = new TextDecoder().decode(content(node));
  let m: RegExpExecArray | null;
  let year: number;
  if (node.tag === TAG.utcTime && (m = UTC.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.generalizedTime && (m = GENERALIZED.exec(s))) {
    year = Number(m[1]);
  } else throw new DerError(`malformed time ${JSON.stringify(s)}`);
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const check = new Date(ms);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) throw new DerError(`invalid date ${s}`);
  return ms;
}
