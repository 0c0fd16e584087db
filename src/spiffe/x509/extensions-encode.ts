/** Encoders for the extensions sluice puts in certificates (RFC 5280 §4.2.1). */
import { OID } from "../der/oids.ts";
import { boolean, implicitPrimitive, namedBits, octetString, oid, sequence, smallInteger } from "../der/writer.ts";

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
export function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

/** DER omits `cA` when false (its default): a leaf's value is the empty SEQUENCE. */
export function basicConstraints(cA: boolean, options: { pathLen?: number; critical?: boolean } = {}): Uint8Array {
  const parts = cA ? [boolean(true)] : [];
  if (options.pathLen !== undefined) parts.push(smallInteger(options.pathLen));
  return extension(OID.basicConstraints, options.critical ?? true, sequence(...parts));
}

export function keyUsage(bits: readonly number[], critical = true): Uint8Array {
  return extension(OID.keyUsage, critical, namedBits(bits));
}

export function extKeyUsage(purposes: readonly string[], critical = false): Uint8Array {
  return extension(OID.extKeyUsage, critical, sequence(...purposes.map(oid)));
}

const encoder = new TextEncoder();

export function subjectAltName(names: { uris?: readonly string[]; dnsNames?: readonly string[] }, critical: boolean): Uint8Array {
  const general = [
    ...(names.uris ?? []).map((u) => implicitPrimitive(6, encoder.encode(u))),
    ...(names.dnsNames ?? []).map((d) => implicitPrimitive(2, encoder.encode(d))),
  ];
  return extension(OID.subjectAltName, critical, sequence(...general));
}

export const subjectKeyId = (keyId: Uint8Array): Uint8Array => extension(OID.subjectKeyIdentifier, false, octetString(keyId));

export const authorityKeyId = (keyId: Uint8Array): Uint8Array => extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId)));

