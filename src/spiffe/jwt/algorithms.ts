/**
 * The JWS algorithms a JWT-SVID may use (JWT-SVID §2.1: RFC 7518 §3.3 RS*, §3.4 ES*, §3.5 PS*).
 * Anything else — `none`, HS*, EdDSA — MUST be rejected.
 */
import { constants, type KeyObject, type VerifyKeyObjectInput } from "node:crypto";

export interface JwsAlgorithm {
  readonly hash: "sha256" | "sha384" | "sha512";
  readonly kty: "RSA" | "EC";
  /** ES*: the curve the key must be on (node's name). */
  readonly curve?: string;
  readonly pss?: boolean;
}

export const JWT_SVID_ALGORITHMS: Readonly<Record<string, JwsAlgorithm>> = Object.freeze({
  RS256: { hash: "sha256", kty: "RSA" },
  RS384: { hash: "sha384", kty: "RSA" },
  RS512: { hash: "sha512", kty: "RSA" },
  ES256: { hash: "sha256", kty: "EC", curve: "prime256v1" },
  ES384: { hash: "sha384", kty: "EC", curve: "secp384r1" },
  ES512: { hash: "sha512", kty: "EC", curve: "secp521r1" },
  PS256: { hash: "sha256", kty: "RSA", pss: true },
  PS384: { hash: "sha384", kty: "RSA", pss: true },
  PS512: { hash: "sha512", kty: "RSA", pss: true },
});

/** Why `key` cannot verify `alg` (RFC 7518 §3.3/§3.5: RSA keys of at least 2048 bits), or undefined. */
export function keyMismatch(alg: JwsAlgorithm, key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  if (alg.kty === "EC") {
    if (type !== "ec") return `needs an EC key, the key is ${type}`;
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== alg.curve) return `needs curve ${alg.curve}, the key is on ${curve}`;
    return undefined;
  }
  if (type !== "rsa" && !(alg.pss && type === "rsa-pss")) return `needs an RSA key, the key is ${type}`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return bits < 2048 ? `RSA keys must have at least 2048 bits (this one has ${bits})` : undefined;
}

/** node:crypto verify options: JOSE ECDSA signatures are r‖s (IEEE P1363), PSS salt = hash length. */
export function verifyInput(alg: JwsAlgorithm, key: KeyObject): VerifyKeyObjectInput {
  if (alg.kty === "EC") return { key, dsaEncoding: "ieee-p1363" };
  if (alg.pss) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  return { key };
}
