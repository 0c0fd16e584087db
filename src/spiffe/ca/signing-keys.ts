/**
 * Creating signing keys and turning stored ones into signers: X.509 authorities (a self-signed
 * root per key) and JWT-SVID keys (ES256, `kid` = RFC 7638 thumbprint).
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { jwkThumbprint, publicJwk } from "../jwt/jwk.ts";
import { jwtSvidSigner, type JwtSvidSigner } from "../jwt/sign.ts";
import { keyIdentifier, signerFor, spkiOf } from "../x509/keys.ts";
import { leafTemplate, type LeafTemplate } from "../x509/leaf.ts";
import { parseCertificate } from "../x509/parse.ts";
import { buildRootCertificate } from "../x509/root.ts";
import type { CaKeyStore, StoredKey } from "./key-store.ts";

/** What issuing an X.509-SVID needs from the active authority. */
export interface X509Signing {
  readonly id: string;
  readonly template: LeafTemplate;
  /** Certificates sent after the leaf (empty for a root). */
  readonly chain: readonly Uint8Array[];
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface JwtSigning {
  readonly id: string;
  readonly signer: JwtSvidSigner;
  readonly notAfter: number;
}

/** Seconds a certificate is backdated to absorb clock skew between hosts. */
export const BACKDATE_MS = 30_000;

export function newP256Key(): KeyObject {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
}

export function createX509Key(keys: CaKeyStore, now: number, ttlMs: number, activatedAt: number | undefined): { stored: StoredKey; privateKey: KeyObject } {
  const privateKey = newP256Key();
  // The id is the subject key identifier in hex; its first 8 digits tell successive roots apart.
  const id = Buffer.from(keyIdentifier(spkiOf(privateKey))).toString("hex");
  const cert = buildRootCertificate({ trustDomain: keys.trustDomain, privateKey, label: id.slice(0, 8), notBefore: now - BACKDATE_MS, notAfter: now + ttlMs });
  const parsed = parseCertificate(cert);
  const stored: StoredKey = {
    kind: "x509",
    id,
    createdAt: now,
    notAfter: parsed.notAfter,
    ...(activatedAt === undefined ? {} : { activatedAt }),
    sealedKey: keys.seal("x509", id, pkcs8(privateKey)),
    cert,
  };
  return { stored, privateKey };
}

export function createJwtKey(keys: CaKeyStore, now: number, ttlMs: number, activatedAt: number | undefined): { stored: StoredKey; privateKey: KeyObject } {
  const privateKey = newP256Key();
  const jwk = publicJwk(privateKey);
  const id = jwkThumbprint(jwk);
  const stored: StoredKey = {
    kind: "jwt",
    id,
    createdAt: now,
    notAfter: now + ttlMs,
    ...(activatedAt === undefined ? {} : { activatedAt }),
    sealedKey: keys.seal("jwt", id, pkcs8(privateKey)),
    jwk,
  };
  return { stored, privateKey };
}

export function x509Signing(stored: StoredKey, privateKey: KeyObject): X509Signing {
  const cert = parseCertificate(stored.cert!);
  return {
    id: stored.id,
    template: leafTemplate({ subject: cert.subject, keyId: cert.subjectKeyId ?? keyIdentifier(cert.spki), signer: signerFor(privateKey) }),
    chain: [],
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

export function jwtSigning(stored: StoredKey, privateKey: KeyObject): JwtSigning {
  return { id: stored.id, signer: jwtSvidSigner(stored.id, privateKey), notAfter: stored.notAfter };
}

function pkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: "pkcs8", format: "der" }));
}
