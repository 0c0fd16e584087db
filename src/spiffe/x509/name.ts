/** X.501 Names for sluice's certificates (RFC 5280 §4.1.2.4): one attribute per RDN, UTF8String values. */
import { oid, sequence, set, utf8String } from "../der/writer.ts";

/** `[[OID, value], …]` → Name DER; `[]` gives the empty Name (`30 00`). */
export function distinguishedName(attributes: readonly (readonly [string, string])[]): Uint8Array {
  return sequence(...attributes.map(([type, value]) => set(sequence(oid(type), utf8String(value)))));
}

export const EMPTY_NAME: Uint8Array = distinguishedName([]);
