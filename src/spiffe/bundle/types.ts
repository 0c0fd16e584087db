/** A trust domain's bundle (SPIFFE Trust Domain and Bundle §3): the keys authoritative for it. */
import type { webcrypto } from "node:crypto";

export type JsonWebKey = webcrypto.JsonWebKey;

/** A JWT-SVID signing key as published (JWT-SVID §6.1: `kid` MUST be set). */
export interface JwtAuthority {
  readonly kid: string;
  /** Public JWK (no `use`/`kid` members; those are added when serializing). */
  readonly jwk: JsonWebKey;
}

export interface TrustBundle {
  readonly trustDomain: string;
  /** X.509-SVID signing certificates (DER), one per authority. */
  readonly x509Authorities: readonly Uint8Array[];
  readonly jwtAuthorities: readonly JwtAuthority[];
  /** `spiffe_sequence`; 0 when the document had none. */
  readonly sequence: number;
  /** `spiffe_refresh_hint` in seconds, when set. */
  readonly refreshHint?: number;
}

/** Where verifiers look up the bundle of an SVID's trust domain. */
export interface BundleSource {
  get(trustDomain: string): TrustBundle | undefined;
}

export function freezeBundle(bundle: TrustBundle): TrustBundle {
  return Object.freeze({
    ...bundle,
    x509Authorities: Object.freeze([...bundle.x509Authorities]),
    jwtAuthorities: Object.freeze(bundle.jwtAuthorities.map((a) => Object.freeze({ kid: a.kid, jwk: Object.freeze({ ...a.jwk }) }))),
  });
}

/** Same keys (order-insensitive) and refresh hint; the sequence is not compared. */
export function sameAuthorities(a: TrustBundle, b: TrustBundle): boolean {
  const certs = (t: TrustBundle) => t.x509Authorities.map((d) => Buffer.from(d).toString("base64")).sort().join(",");
  const jwks = (t: TrustBundle) => t.jwtAuthorities.map((j) => `${j.kid}:${JSON.stringify(j.jwk, Object.keys(j.jwk).sort())}`).sort().join(",");
  return certs(a) === certs(b) && jwks(a) === jwks(b) && a.refreshHint === b.refreshHint;
}
