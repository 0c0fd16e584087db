/**
 * `AccessTokenVerifier`: sluice's own access tokens (RFC 9068 §4): signature with a published key,
 * `typ: at+jwt`, `iss`, `exp`, optional `aud`, and not revoked. Verified claims are cached by the
 * token's SHA-256 until the token expires (a signature check costs ~80 µs; a cache hit ~1 µs); the
 * revocation checks (jti denylist, removed users' cutoffs on `sub`/`act`) run on every call, cached or not.
 */
import { errors as joseErrors, jwtVerify, type JWTHeaderParameters } from "jose";
import type { SigningKeys } from "../keys/signing-keys.ts";
import { OAuthError, type AccessTokenClaims, type AccessTokenVerifier } from "../types.ts";
import type { Revocations } from "./revocation.ts";
import { nowSeconds, secretHash } from "./secrets.ts";

const MAX_TOKEN_LENGTH = 8 * 1024;
const CACHE_SIZE = 10_000;

export class SluiceAccessTokenVerifier implements AccessTokenVerifier {
  readonly #cache = new Map<string, AccessTokenClaims>();
  readonly #hashByJti = new Map<string, string>();

  constructor(
    private readonly keys: SigningKeys,
    private readonly issuer: string,
    private readonly revocations: Revocations,
    private readonly now: () => number = nowSeconds,
  ) {
    revocations.onRevoke((jti) => {
      const hash = this.#hashByJti.get(jti);
      if (hash) this.#cache.delete(hash);
      this.#hashByJti.delete(jti);
    });
  }

  async verify(token: string, options: { audience?: string } = {}): Promise<AccessTokenClaims> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalid("the access token is missing or too long");
    const now = this.now();
    const hash = secretHash(token);
    let claims = this.#cache.get(hash);
    if (claims && claims.exp <= now) {
      this.#cache.delete(hash);
      this.#hashByJti.delete(claims.jti);
      claims = undefined;
    }
    if (!claims) {
      claims = await this.#verifySignature(token, now);
      if (this.#cache.size >= CACHE_SIZE) this.#evictOldest();
      this.#cache.set(hash, claims);
      this.#hashByJti.set(claims.jti, hash);
    }
    if (this.revocations.isRevoked(claims.jti)) throw invalid("the access token was revoked");
    if (this.revocations.refusesClaims(claims)) throw invalid("the access token was revoked (its user was removed)");
    if (options.audience !== undefined) {
      const aud = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
      if (!aud.includes(options.audience)) throw invalid(`the access token is not for ${options.audience} (RFC 9068 §4: aud)`);
    }
    return claims;
  }

  async #verifySignature(token: string, now: number): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(
        token,
        (header: JWTHeaderParameters) => {
          const key = header.kid ? this.keys.byKid(header.kid) : undefined;
          if (!key || key.alg !== header.alg) throw invalid("the access token was not signed by a key of this issuer");
          return key.publicKey;
        },
        { issuer: this.issuer, typ: "at+jwt", algorithms: ["ES256", "RS256"], currentDate: new Date(now * 1000), clockTolerance: 0, requiredClaims: ["sub", "aud", "jti", "exp", "iat", "client_id"] },
      );
      if (typeof payload.client_id !== "string" || typeof payload.jti !== "string") throw invalid("the access token lacks client_id or jti");
      return payload as unknown as AccessTokenClaims;
    } catch (err) {
      if (err instanceof OAuthError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw invalid("the access token has expired");
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw invalid(`the access token's "${err.claim}" claim is not acceptable (${err.reason})`);
      if (err instanceof joseErrors.JOSEError) throw invalid(`the access token is not a valid sluice access token (${err.code})`);
      throw err;
    }
  }

  /** Map iteration follows insertion order: the first entry is the oldest. */
  #evictOldest(): void {
    for (const [hash, claims] of this.#cache) {
      this.#cache.delete(hash);
      this.#hashByJti.delete(claims.jti);
      return;
    }
  }
}

function invalid(description: string): OAuthError {
  return new OAuthError("invalid_token", description, { status: 401, headers: { "www-authenticate": `Bearer error="invalid_token", error_description="${description.replaceAll('"', "'")}"` } });
}
