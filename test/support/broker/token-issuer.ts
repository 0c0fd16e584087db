/**
 * A real jose-based sluice token issuer and AccessTokenVerifier for broker tests (ES256 at+jwt,
 * RFC 9068 claims, verification of signature, typ, iss, exp and audience), standing in for the
 * oauth core's verifier so the broker tests do not depend on its progress.
 */
import { createHash, randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { OAuthError, type AccessTokenClaims, type AccessTokenVerifier } from "../../../src/oauth/types.ts";

export interface TestTokenIssuer {
  readonly issuer: string;
  readonly verifier: AccessTokenVerifier;
  /** An at+jwt for `sub` (workload), acting for `actor` (user), audience `aud`. */
  mint(p: { sub: string; actor?: string; aud: string | string[]; ttlSeconds?: number; clientId?: string; iat?: number }): Promise<string>;
  /** Verifications that reached the signature check (cache misses). */
  verifications(): number;
}

export async function createTestTokenIssuer(issuer: string): Promise<TestTokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "test-1", alg: "ES256" };
  const verifyKey = await importJWK(jwk, "ES256");
  const cache = new Map<string, AccessTokenClaims>();
  let misses = 0;
  const verifier: AccessTokenVerifier = {
    async verify(token, options) {
      const hash = createHash("sha256").update(token).digest("base64url");
      let claims = cache.get(hash);
      if (!claims) {
        misses++;
        try {
          const { payload } = await jwtVerify(token, verifyKey, { issuer, typ: "at+jwt", algorithms: ["ES256"] });
          claims = payload as unknown as AccessTokenClaims;
        } catch (err) {
          throw new OAuthError("invalid_token", `access token rejected: ${(err as Error).message}`, { status: 401 });
        }
        cache.set(hash, claims);
      }
      if (claims.exp * 1000 <= Date.now()) throw new OAuthError("invalid_token", "access token expired", { status: 401 });
      if (options?.audience !== undefined) {
        const auds = typeof claims.aud === "string" ? [claims.aud] : claims.aud;
        if (!auds.includes(options.audience)) throw new OAuthError("invalid_token", "access token audience mismatch", { status: 401 });
      }
      return claims;
    },
  };
  return {
    issuer,
    verifier,
    verifications: () => misses,
    async mint(p) {
      const iat = p.iat ?? Math.floor(Date.now() / 1000);
      return new SignJWT({
        client_id: p.clientId ?? "test-client",
        scope: "mcp:tools",
        ...(p.actor ? { act: { sub: p.actor } } : {}),
      })
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "test-1" })
        .setIssuer(issuer)
        .setSubject(p.sub)
        .setAudience(p.aud)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (p.ttlSeconds ?? 300))
        .setJti(randomUUID())
        .sign(privateKey);
    },
  };
}
