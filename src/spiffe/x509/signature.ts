/** Checking a certificate's signature with its issuer's key (RFC 5280 §6.1.3 (a)(1)). */
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { OID } from "../der/oids.ts";
import type { ParsedCertificate } from "./parse.ts";

/** Signature algorithm → [hash (null for Ed25519), key type]. RSASSA-PSS certificates are not supported. */
const ALGORITHMS: Record<string, [string | null, string]> = {
  [OID.ecdsaWithSha256]: ["sha256", "ec"],
  [OID.ecdsaWithSha384]: ["sha384", "ec"],
  [OID.ecdsaWithSha512]: ["sha512", "ec"],
  [OID.sha256WithRsa]: ["sha256", "rsa"],
  [OID.sha384WithRsa]: ["sha384", "rsa"],
  [OID.sha512WithRsa]: ["sha512", "rsa"],
  [OID.ed25519]: [null, "ed25519"],
};

export const isSupportedSignatureAlgorithm = (oid: string): boolean => Object.hasOwn(ALGORITHMS, oid);

const publicKeys = new WeakMap<Uint8Array, KeyObject>();

/** The public key of a certificate (cached per parsed certificate's SPKI bytes). */
export function publicKeyOf(cert: ParsedCertificate): KeyObject {
  let key = publicKeys.get(cert.spki);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(cert.spki), format: "der", type: "spki" });
    publicKeys.set(cert.spki, key);
  }
  return key;
}

/** True when `issuer`'s key made `cert`'s signature. */
export function signedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  const entry = ALGORITHMS[cert.signatureAlgorithm];
  if (!entry) return false;
  const [hash, keyType] = entry;
  const key = publicKeyOf(issuer);
  if (key.asymmetricKeyType !== keyType) return false;
  try {
    return verify(hash, cert.tbs, key, cert.signature);
  } catch {
    return false;
  }
}
