/**
 * A small DER writer (X.690 §10): enough to build X.509 certificates from templates without a
 * library. Every function returns the complete TLV as bytes; callers nest them.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** One TLV whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const head = lengthOctets(size);
  const out = new Uint8Array(1 + head.length + size);
  out[0] = tag;
  out.set(head, 1);
  let at = 1 + head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.sequence, ...parts);
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.set, ...parts);
export const octetString = (bytes: Uint8Array): Uint8Array => tlv(TAG.octetString, bytes);
export const nullValue = (): Uint8Array => Uint8Array.of(TAG.null, 0);
export const boolean = (value: boolean): Uint8Array => Uint8Array.of(TAG.boolean, 1, value ? 0xff : 0);
export const utf8String = (s: string): Uint8Array => tlv(TAG.utf8String, new TextEncoder().encode(s));
export const ia5String = (s: string): Uint8Array => tlv(TAG.ia5String, new TextEncoder().encode(s));

/** `[n] EXPLICIT` (constructed context tag). */
export const explicit = (n: number, inner: Uint8Array): Uint8Array => tlv(0xa0 | n, inner);
/** `[n] IMPLICIT` primitive (e.g. GeneralName uniformResourceIdentifier is `[6] IA5String`). */
export const implicitPrimitive = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

/** INTEGER from unsigned big-endian magnitude bytes (leading zeros stripped, 0x00 added when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const body = magnitude.subarray(start);
  if (body.length === 0) return Uint8Array.of(TAG.integer, 1, 0);
  return (body[0]! & 0x80) !== 0 ? tlv(TAG.integer, Uint8Array.of(0), body) : tlv(TAG.integer, body);
}

export function smallInteger(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`DER: unsupported integer ${n}`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return unsignedInteger(Uint8Array.from(bytes.length ? bytes : [0]));
}

/** BIT STRING with `unusedBits` padding bits at the end of the last octet. */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Uint8Array => tlv(TAG.bitString, Uint8Array.of(unusedBits), bytes);

/**
 * A named-bit BIT STRING (e.g. KeyUsage): bit 0 is the most significant bit of the first octet.
 * DER (X.690 §11.2.2) drops trailing zero bits, so the encoding is minimal.
 */
export function namedBits(bits: readonly number[]): Uint8Array {
  if (bits.length === 0) return bitString(new Uint8Array(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const unused = 7 - (highest & 7);
  return bitString(bytes, unused);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((a) => {
    const n = Number(a);
    if (!Number.isSafeInteger(n) || n < 0 || a === "") throw new TypeError(`DER: bad OID ${dotted}`);
    return n;
  });
  if (arcs.length < 2) throw new TypeError(`DER: bad OID ${dotted}`);
  const out: number[] = [];
  const encodeArc = (n: number) => {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  };
  encodeArc(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) encodeArc(arc);
  return tlv(TAG.oid, Uint8Array.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; always UTC, whole seconds. */
export function time(ms: number): Uint8Array {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const year = d.getUTCFullYear();
  const pad = (n: number) => String(n).padStart(2, "0");
  const rest = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, new TextEncoder().encode(pad(year % 100) + rest));
  return tlv(TAG.generalizedTime, new TextEncoder().encode(String(year).padStart(4, "0") + rest));
}
