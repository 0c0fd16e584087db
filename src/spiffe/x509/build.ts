/** Assembling and signing a certificate (RFC 5280 §4.1) from already-encoded parts. */
import { randomBytes } from "node:crypto";
import { bitString, explicit, sequence, time, unsignedInteger } from "../der/writer.ts";
import type { CertSigner } from "./keys.ts";

export interface TbsFields {
  /** DER INTEGER (see `randomSerial`). */
  readonly serial: Uint8Array;
  /** Name DER. */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** Each an encoded Extension. */
  readonly extensions: readonly Uint8Array[];
}

/** `[0] EXPLICIT INTEGER 2`: always v3 (extensions are mandatory for SVIDs). */
const VERSION_3 = explicit(0, Uint8Array.of(0x02, 0x01, 0x02));

export function buildTbs(fields: TbsFields, algorithm: Uint8Array): Uint8Array {
  return sequence(
    VERSION_3,
    fields.serial,
    algorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.spki,
    explicit(3, sequence(...fields.extensions)),
  );
}

export function signTbs(tbs: Uint8Array, signer: CertSigner): Uint8Array {
  return sequence(tbs, signer.algorithm, bitString(signer.sign(tbs)));
}

export function buildCertificate(fields: TbsFields, signer: CertSigner): Uint8Array {
  return signTbs(buildTbs(fields, signer.algorithm), signer);
}

/**
 * A random positive 128-bit serial (RFC 5280 §4.1.2.2: positive, at most 20 octets; CA/B-style
 * unpredictability). A zero value is not possible in practice but is excluded anyway.
 */
export function randomSerial(): Uint8Array {
  const bytes = randomBytes(16);
  if (bytes.every((b) => b === 0)) bytes[15] = 1;
  return unsignedInteger(bytes);
}
