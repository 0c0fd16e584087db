/**
 * private_key_jwt client authentication (RFC 7523 §3, RFC 7521 §4.2, OIDC Core §9): a JWT signed
 * with a key from the client's registered `jwks` or `jwks_uri`, `iss` = `sub` = client_id, `aud`
 * = the issuer or the endpoint, `exp` required and near, `jti` used once within its lifetime.
 */
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from "jose";
import { OAuthError } from "../types.ts";
import { CLIENT_LIMITS } from "./limits.ts";
import { parseJwkSet } from "./metadata.ts";
import type { ClientRecord, JwkSet } from "./records.ts";
import { DocumentFetchError, fetchJsonDocument, type FetchDocumentOptions } from "./safe-fetch.ts";

const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** Single use of `jti` (RFC 7523 §3 item 7): remembered until the assertion's `exp`, bounded in count. */
export class JtiCache {
  readonly #seen = new Map<string, number>();
  constructor(private readonly now: () => number = Date.now) {}

  /** False when `key` was already used and has not expired. */
  use(key: string, expiresAtMs: number): boolean {
    const now = this.now();
    const known = this.#seen.get(key);
    if (known !== undefined && known > now) return false;
    if (this.#seen.size >= CLIENT_LIMITS.maxRememberedJtis) this.#sweep(now);
    // Still full of live entries: refuse rather than forget one (forgetting would allow a replay).
    if (this.#seen.size >= CLIENT_LIMITS.maxRememberedJtis) return false;
    this.#seen.set(key, expiresAtMs);
    return true;
  }

  #sweep(now: number): void {
    for (const [key, exp] of this.#seen) if (exp <= now) this.#seen.delete(key);
  }
}

/** Fetched jwks_uri documents, kept like metadata documents (max-age within bounds, default 5 min). */
export class JwksCache {
  readonly #entries = new Map<string, { jwks: JwkSet; expiresAt: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  async get(uri: string, fetchOptions: FetchDocumentOptions): Promise<JwkSet> {
    const hit = this.#entries.get(uri);
    if (hit && hit.expiresAt > this.now()) return hit.jwks;
    const fetched = await fetchJsonDocument(uri, { ...fetchOptions, maxBytes: CLIENT_LIMITS.maxJwksBytes });
    if (typeof fetched.body !== "object" || fetched.body === null) throw invalidClient("jwks_uri did not return a JWK Set");
    const jwks = parseJwkSet(fetched.body, "jwks_uri document");
    const seconds = Math.min(CLIENT_LIMITS.cacheMaxSeconds, Math.max(CLIENT_LIMITS.cacheMinSeconds, fetched.maxAgeSeconds ?? CLIENT_LIMITS.cacheDefaultSeconds));
    if (this.#entries.size >= CLIENT_LIMITS.cacheMaxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(uri, { jwks, expiresAt: this.now() + seconds * 1000 });
    return jwks;
  }
}

export interface PrivateKeyJwtOptions {
  readonly issuer: string;
  readonly endpoint: string;
  readonly jtis: JtiCache;
  readonly jwksCache: JwksCache;
  readonly fetchOptions: FetchDocumentOptions;
  readonly now: () => number;
}

export async function verifyPrivateKeyJwt(assertion: string, client: ClientRecord, options: PrivateKeyJwtOptions): Promise<void> {
  let header;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw invalidClient("client_assertion is not a JWS");
  }
  if (typeof header.alg !== "string" || !ASYMMETRIC.includes(header.alg)) throw invalidClient(`client_assertion alg ${JSON.stringify(header.alg)} is not allowed (asymmetric algorithms only)`);
  const jwks = await keysOf(client, options.fetchOptions, options.jwksCache);
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(jwks as JSONWebKeySet), {
      algorithms: ASYMMETRIC,
      // RFC 7523 §3 items 1-2: iss and sub are the client_id.
      issuer: client.clientId,
      subject: client.clientId,
      // RFC 7523 §3 item 3: aud identifies the AS (its issuer, or the endpoint URL).
      audience: [options.issuer, options.endpoint],
      requiredClaims: ["exp", "jti"],
      currentDate: new Date(options.now()),
      clockTolerance: 30,
    }));
  } catch (err) {
    throw invalidClient(`client_assertion rejected: ${describeJoseError(err)}`, err);
  }
  const exp = (payload.exp as number) * 1000;
  if (exp - options.now() > CLIENT_LIMITS.maxAssertionLifetimeSeconds * 1000) throw invalidClient(`client_assertion exp is more than ${CLIENT_LIMITS.maxAssertionLifetimeSeconds} s ahead`);
  if (typeof payload.jti !== "string" || payload.jti.length > 256) throw invalidClient("client_assertion jti must be a string of at most 256 characters");
  if (!options.jtis.use(`${client.clientId}\u0000${payload.jti}`, exp + 30_000)) throw invalidClient("client_assertion was already used (jti replay, RFC 7523 §3)");
}

async function keysOf(client: ClientRecord, fetchOptions: FetchDocumentOptions, cache: JwksCache): Promise<JwkSet> {
  if (client.jwks) return client.jwks;
  if (!client.jwksUri) throw invalidClient("the client has no registered keys");
  try {
    return await cache.get(client.jwksUri, fetchOptions);
  } catch (err) {
    if (err instanceof DocumentFetchError) throw invalidClient(`cannot fetch the client's jwks_uri: ${err.message}`, err);
    if (err instanceof OAuthError) throw invalidClient(err.description, err);
    throw err;
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "expired (exp)";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} ${err.reason === "check_failed" ? "does not match" : err.reason}`;
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "no registered key matches";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "signature verification failed";
  if (err instanceof joseErrors.JOSEError) return err.message;
  return "malformed";
}

export function invalidClient(description: string, cause?: unknown): OAuthError {
  return new OAuthError("invalid_client", description, cause === undefined ? {} : { cause });
}
