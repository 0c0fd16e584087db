/**
 * JWT-SVID validation: every MUST of the JWT-SVID spec (Appendix A) plus RFC 7519 §7.2.
 * Claims are read before the signature only to pick the trust domain's bundle (as go-spiffe does);
 * nothing in them is trusted until the signature verifies.
 */
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { tryParseSpiffeId } from "../../identity/index.ts";
import type { BundleSource, JwtAuthority } from "../bundle/types.ts";
import { SvidError, type JwtSvidRule } from "../errors.ts";
import { JWT_SVID_ALGORITHMS, keyMismatch, verifyInput } from "./algorithms.ts";

export interface VerifyJwtSvidOptions {
  /** The value this validator identifies with; it MUST be among the token's `aud` (§3.2). */
  readonly audience: string;
  /** ms since the epoch. */
  readonly now?: number;
  /** Clock skew allowed on `exp`/`nbf`, seconds (default 30; Appendix A: "a small amount of leeway"). */
  readonly leewaySeconds?: number;
}

export interface VerifiedJwtSvid {
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly audience: readonly string[];
  /** `exp`, ms since the epoch. */
  readonly expiresAt: number;
  /** `iat`, ms since the epoch, when present. */
  readonly issuedAt?: number;
  readonly kid: string;
  readonly alg: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export const MAX_JWT_SVID_BYTES = 16 * 1024;
const HEADER_PARAMETERS = new Set(["alg", "kid", "typ"]);
const B64URL = /^[A-Za-z0-9_-]*$/;

function fail(rule: JwtSvidRule, message: string): never {
  throw new SvidError("jwt", rule, message);
}

export function verifyJwtSvid(token: string, bundles: BundleSource, options: VerifyJwtSvidOptions): VerifiedJwtSvid {
  if (typeof options?.audience !== "string" || options.audience === "") throw new TypeError("verifyJwtSvid: audience is required");
  const now = options.now ?? Date.now();
  const leeway = (options.leewaySeconds ?? 30) * 1000;
  if (typeof token !== "string") throw new TypeError("verifyJwtSvid: token must be a string");
  if (token.length > MAX_JWT_SVID_BYTES) fail("too-large", `token is longer than ${MAX_JWT_SVID_BYTES} bytes`);

  // §5.1: JWS Compact Serialization only.
  const parts = token.split(".");
  // An empty signature is left to the alg check below: `alg: none` is reported as such.
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)) || !parts[0] || !parts[1])
    fail("malformed", "not a JWS in compact serialization (three base64url parts)");
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, "header");
  const claims = decodeJson(p, "payload");

  // §2: no header parameter other than alg, kid, typ.
  for (const name of Object.keys(header)) if (!HEADER_PARAMETERS.has(name)) fail("header-parameter", `header parameter "${name}" is not allowed in a JWT-SVID`);
  // §2.1 / §4: alg MUST be one of the listed asymmetric algorithms, checked before anything else is processed.
  const alg = typeof header.alg === "string" && Object.hasOwn(JWT_SVID_ALGORITHMS, header.alg) ? JWT_SVID_ALGORITHMS[header.alg]! : undefined;
  if (!alg) fail("alg", `alg ${JSON.stringify(header.alg)} is not allowed for JWT-SVIDs (RS/ES/PS 256/384/512 only)`);
  // §2.3: typ, if set, MUST be JWT or JOSE.
  if (header.typ !== undefined && header.typ !== "JWT" && header.typ !== "JOSE") fail("typ", `typ ${JSON.stringify(header.typ)} must be "JWT" or "JOSE"`);
  if (typeof header.kid !== "string" || header.kid === "") fail("kid-missing", "the header has no kid; sluice requires one to pick the signing key");
  const kid = header.kid as string;

  // §3.1: sub MUST be the SPIFFE ID of the workload.
  if (typeof claims.sub !== "string") fail("sub", "sub claim is missing or not a string");
  const id = tryParseSpiffeId(claims.sub as string);
  if (!id.ok) fail("sub", `sub is not a SPIFFE ID: ${id.error.message}`);
  const trustDomain = id.ok ? id.value.trustDomain : "";

  const bundle = bundles.get(trustDomain);
  if (!bundle) fail("no-bundle", `no bundle for trust domain ${trustDomain}`);
  // JWT-SVID §6.2: no jwt-svid entries → the trust domain does not support JWT-SVIDs.
  if (bundle!.jwtAuthorities.length === 0) fail("no-jwt-authorities", `the bundle of ${trustDomain} has no JWT-SVID keys`);
  const authority = bundle!.jwtAuthorities.find((a) => a.kid === kid);
  if (!authority) fail("kid-unknown", `kid ${JSON.stringify(kid)} is not in the bundle of ${trustDomain}`);
  const key = keyOf(authority!);
  const mismatch = keyMismatch(alg!, key) ?? (authority!.jwk.alg && authority!.jwk.alg !== header.alg ? `the key is for ${authority!.jwk.alg}` : undefined);
  if (mismatch) fail("key-alg-mismatch", `alg ${header.alg} with kid ${kid}: ${mismatch}`);

  // RFC 7519 §7.2 / RFC 7515 §5.2: the signature over the encoded header and payload.
  const ok = verify(alg!.hash, Buffer.from(`${h}.${p}`), verifyInput(alg!, key), Buffer.from(s, "base64url"));
  if (!ok) fail("signature", "signature verification failed");

  // §3.3 / §4: exp MUST be present and not passed.
  if (claims.exp === undefined) fail("exp-missing", "exp claim is missing");
  if (!isNumericDate(claims.exp)) fail("claim-type", "exp must be a NumericDate");
  const exp = (claims.exp as number) * 1000;
  if (now >= exp + leeway) fail("expired", `token expired at ${new Date(exp).toISOString()}`);
  if (claims.nbf !== undefined) {
    if (!isNumericDate(claims.nbf)) fail("claim-type", "nbf must be a NumericDate");
    if (now + leeway < (claims.nbf as number) * 1000) fail("not-yet-valid", "token is not valid yet (nbf)");
  }
  if (claims.iat !== undefined && !isNumericDate(claims.iat)) fail("claim-type", "iat must be a NumericDate");

  // §3.2: aud MUST be present with one or more values, and contain the validator's own.
  const audience = audienceOf(claims.aud);
  if (!audience.includes(options.audience)) fail("aud-mismatch", `aud does not contain ${JSON.stringify(options.audience)}`);

  return Object.freeze({
    spiffeId: claims.sub as string,
    trustDomain,
    audience,
    expiresAt: exp,
    ...(claims.iat === undefined ? {} : { issuedAt: (claims.iat as number) * 1000 }),
    kid,
    alg: header.alg as string,
    claims: Object.freeze(claims),
  });
}

function audienceOf(aud: unknown): string[] {
  if (aud === undefined) fail("aud-missing", "aud claim is missing");
  const list = typeof aud === "string" ? [aud] : aud;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === "string" && a !== ""))
    fail("aud-missing", "aud must be a non-empty string or a non-empty array of strings");
  return list as string[];
}

const keys = new WeakMap<JwtAuthority, KeyObject>();
function keyOf(authority: JwtAuthority): KeyObject {
  let key = keys.get(authority);
  if (!key) {
    key = createPublicKey({ key: authority.jwk, format: "jwk" });
    keys.set(authority, key);
  }
  return key;
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return fail("malformed", `${what} is not base64url JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("malformed", `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

const isNumericDate = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);
