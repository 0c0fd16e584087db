/**
 * JWT-SVID signing with node:crypto directly (jose's async SignJWT is ~2× slower; bench/svid.ts).
 * Header: exactly `alg`, `kid`, `typ` (JWT-SVID §2: no other header parameters).
 */
import { sign, type KeyObject } from "node:crypto";

export interface JwtSvidClaims {
  readonly sub: string;
  readonly aud: readonly string[];
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
}

export interface JwtSvidSigner {
  readonly kid: string;
  readonly alg: "ES256";
  sign(claims: JwtSvidClaims): string;
}

export function jwtSvidSigner(kid: string, privateKey: KeyObject): JwtSvidSigner {
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1")
    throw new TypeError("JWT-SVID keys are ECDSA P-256 (ES256)");
  // §2.3: `typ`, if set, MUST be JWT or JOSE.
  const header = Buffer.from(JSON.stringify({ alg: "ES256", kid, typ: "JWT" })).toString("base64url");
  return {
    kid,
    alg: "ES256",
    sign(claims) {
      // §3.2: `aud` has one or more values; a single one is sent as a string (RFC 7519 §4.1.3).
      const aud = claims.aud.length === 1 ? claims.aud[0] : claims.aud;
      const payload = Buffer.from(JSON.stringify({ sub: claims.sub, aud, exp: claims.exp, iat: claims.iat })).toString("base64url");
      const input = `${header}.${payload}`;
      // RFC 7518 §3.4: the ECDSA signature is R‖S, 64 bytes for P-256.
      const signature = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
      return `${input}.${signature.toString("base64url")}`;
    },
  };
}
