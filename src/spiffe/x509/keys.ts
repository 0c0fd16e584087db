/**
 * Keys as certificates need them: SubjectPublicKeyInfo, key identifiers, and the signature
 * algorithm a private key signs with.
 */
import { createHash, createPublicKey, sign, type KeyObject } from "node:crypto";
import { OID } from "../der/oids.ts";
import { children, readBitString, readRoot } from "../der/reader.ts";
import { nullValue, oid, sequence } from "../der/writer.ts";

/** SubjectPublicKeyInfo DER of a public (or private) key. */
export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ type: "spki", format: "der" }));
}

/** RFC 7093 §2 method 1: leftmost 160 bits of SHA-256 over the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: Uint8Array): Uint8Array {
  const [, bits] = children(readRoot(spki));
  if (!bits) throw new TypeError("not a SubjectPublicKeyInfo");
  return new Uint8Array(createHash("sha256").update(readBitString(bits).bytes).digest().subarray(0, 20));
}

/** Signs TBSCertificates; `algorithm` is the AlgorithmIdentifier DER placed in the certificate. */
export interface CertSigner {
  readonly algorithm: Uint8Array;
  sign(tbs: Uint8Array): Uint8Array;
}

const EC_HASH: Record<string, [string, string]> = {
  "prime256v1": ["sha256", OID.ecdsaWithSha256],
  "secp384r1": ["sha384", OID.ecdsaWithSha384],
  "secp521r1": ["sha512", OID.ecdsaWithSha512],
};

/** ECDSA (P-256/384/521), RSA PKCS#1 v1.5 with SHA-256, or Ed25519, chosen from the key. */
export function signerFor(privateKey: KeyObject): CertSigner {
  const type = privateKey.asymmetricKeyType;
  if (type === "ec") {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve ?? "";
    const entry = EC_HASH[curve];
    if (!entry) throw new TypeError(`unsupported EC curve ${curve}`);
    const [hash, alg] = entry;
    // RFC 5758 §3.2: ecdsa-with-SHA* AlgorithmIdentifiers have no parameters.
    // node:crypto's default ECDSA output is the DER ECDSA-Sig-Value X.509 expects.
    return { algorithm: sequence(oid(alg)), sign: (tbs) => sign(hash, tbs, privateKey) };
  }
  if (type === "rsa") return { algorithm: sequence(oid(OID.sha256WithRsa), nullValue()), sign: (tbs) => sign("sha256", tbs, privateKey) };
  if (type === "ed25519") return { algorithm: sequence(oid(OID.ed25519)), sign: (tbs) => sign(null, tbs, privateKey) };
  throw new TypeError(`unsupported signing key type ${type}`);
}
