/** Issuing X.509-SVIDs and JWT-SVIDs from the active signing keys. */
import { createPublicKey, generateKeyPairSync, KeyObject } from "node:crypto";
import { parseSpiffeId, type SpiffeId } from "../../identity/index.ts";
import { spkiOf } from "../x509/keys.ts";
import { CA_DEFAULTS } from "./options.ts";
import { BACKDATE_MS, type JwtSigning, type X509Signing } from "./signing-keys.ts";
import type { JwtSvid, JwtSvidRequest, X509Svid, X509SvidRequest } from "./types.ts";

export function issueX509Svid(trustDomain: string, signing: X509Signing, request: X509SvidRequest, now: number): X509Svid {
  const id = ownId(trustDomain, request.spiffeId, "issueX509Svid");
  // X509-SVID §3.1: leaf SPIFFE IDs MUST have a non-root path.
  if (id.path === "") throw new TypeError(`issueX509Svid: ${id.id} has no path; a leaf SVID needs one`);
  const ttl = ttlMs(request.ttlSeconds ?? CA_DEFAULTS.x509SvidTTLSeconds, "issueX509Svid");
  let spki: Uint8Array;
  let privateKey: Uint8Array | undefined;
  let rsaKey = false;
  if (request.publicKey !== undefined) {
    const key = publicKeyOf(request.publicKey);
    spki = spkiOf(key);
    rsaKey = key.asymmetricKeyType === "rsa";
  } else {
    const pair = generateKeyPairSync("ec", {
      namedCurve: "prime256v1",
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "der" },
    });
    spki = pair.publicKey;
    privateKey = new Uint8Array(pair.privateKey);
  }
  // Whole seconds, as DER stores them; never past the signing certificate (nor before it).
  const notBefore = Math.max(wholeSeconds(now - BACKDATE_MS), signing.notBefore);
  const notAfter = wholeSeconds(Math.min(now + ttl, signing.notAfter));
  const leaf = signing.template.issue({ spiffeId: id.id, spki, rsaKey, notBefore, notAfter });
  return {
    spiffeId: id.id,
    certChain: [leaf, ...signing.chain],
    ...(privateKey ? { privateKey } : {}),
    expiresAt: notAfter,
    ...(request.hint === undefined ? {} : { hint: request.hint }),
  };
}

export function issueJwtSvid(trustDomain: string, signing: JwtSigning, request: JwtSvidRequest, now: number): JwtSvid {
  const id = ownId(trustDomain, request.spiffeId, "issueJwtSvid");
  const audience = typeof request.audience === "string" ? [request.audience] : [...(request.audience ?? [])];
  // JWT-SVID §3.2: aud MUST be present with one or more values.
  if (audience.length === 0 || !audience.every((a) => typeof a === "string" && a.length > 0))
    throw new TypeError("issueJwtSvid: audience must be one or more non-empty strings");
  const ttl = ttlMs(request.ttlSeconds ?? CA_DEFAULTS.jwtSvidTTLSeconds, "issueJwtSvid");
  const iat = Math.floor(now / 1000);
  // §3.3: exp MUST be set; a token never outlives the key that verifies it in the bundle.
  const exp = Math.floor(Math.min(now + ttl, signing.notAfter) / 1000);
  const token = signing.signer.sign({ sub: id.id, aud: audience, iat, exp });
  return {
    spiffeId: id.id,
    token,
    audience,
    issuedAt: iat * 1000,
    expiresAt: exp * 1000,
    ...(request.hint === undefined ? {} : { hint: request.hint }),
  };
}

function ownId(trustDomain: string, spiffeId: string, op: string): SpiffeId {
  let id: SpiffeId;
  try {
    id = parseSpiffeId(spiffeId);
  } catch (err) {
    throw new TypeError(`${op}: ${(err as Error).message}`, { cause: err });
  }
  if (id.trustDomain !== trustDomain) throw new TypeError(`${op}: ${id.id} is not in trust domain ${trustDomain}`);
  return id;
}

function ttlMs(seconds: number, op: string): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 1) throw new TypeError(`${op}: ttlSeconds must be at least 1`);
  return seconds * 1000;
}

function publicKeyOf(input: KeyObject | Uint8Array): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== "public") throw new TypeError("issueX509Svid: publicKey must be a public key");
    return input;
  }
  try {
    return createPublicKey({ key: Buffer.from(input), format: "der", type: "spki" });
  } catch (err) {
    throw new TypeError("issueX509Svid: publicKey is not SubjectPublicKeyInfo DER", { cause: err });
  }
}

const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;
