/**
 * Signs the AS's JWTs: RFC 9068 access tokens (`typ: at+jwt`) and OIDC id_tokens.
 */
import { createHash } from "node:crypto";
import type { SigningAlg, SigningKeys } from "../keys/signing-keys.ts";
import { signCompactJws } from "./jws.ts";
import { newId } from "./secrets.ts";

/** RFC 8693 §4.1: the current actor, with the previous ones nested in `act`. */
export interface ActorClaim {
  readonly sub: string;
  readonly act?: ActorClaim;
}

export interface AccessTokenInput {
  readonly subject: string;
  readonly audience: readonly string[];
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly act?: ActorClaim;
  readonly authTime?: number;
  /** Pre-generated when the jti must be recorded before signing (codes, refresh families). */
  readonly jti?: string;
  /** Extra claims (e.g. `may_act`); never overrides the ones above. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

export interface MintedAccessToken {
  readonly token: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

export interface IdTokenInput {
  readonly userSpiffeId: string;
  readonly clientId: string;
  readonly nonce?: string;
  readonly authTime?: number;
  readonly accessToken: string;
  readonly alg?: SigningAlg;
}

export class TokenMinter {
  constructor(
    private readonly keys: SigningKeys,
    private readonly issuer: string,
    private readonly accessTtl: number,
    private readonly idTtl: number,
  ) {}

  get accessTokenTtl(): number {
    return this.accessTtl;
  }

  /** The `exp` an access token minted now gets. */
  accessExpiry(now: number): number {
    return now + this.accessTtl;
  }

  async accessToken(input: AccessTokenInput, now: number): Promise<MintedAccessToken> {
    const key = this.keys.current("ES256");
    const jti = input.jti ?? newId();
    const exp = this.accessExpiry(now);
    // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti required; scope, auth_time, act where known.
    const claims: Record<string, unknown> = {
      ...input.extra,
      iss: this.issuer,
      sub: input.subject,
      aud: input.audience.length === 1 ? input.audience[0] : [...input.audience],
      client_id: input.clientId,
      iat: now,
      exp,
      jti,
    };
    if (input.scopes.length > 0) claims.scope = input.scopes.join(" ");
    if (input.act) claims.act = input.act;
    if (input.authTime !== undefined) claims.auth_time = input.authTime;
    const token = signCompactJws({ alg: key.alg, kid: key.kid, typ: "at+jwt" }, claims, key.privateKey);
    return { token, jti, iat: now, exp };
  }

  async idToken(input: IdTokenInput, now: number): Promise<string> {
    const key = this.keys.current(input.alg ?? "ES256");
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: input.userSpiffeId,
      aud: input.clientId,
      azp: input.clientId,
      iat: now,
      exp: now + this.idTtl,
      at_hash: atHash(input.accessToken, key.alg),
    };
    if (input.nonce !== undefined) claims.nonce = input.nonce;
    if (input.authTime !== undefined) claims.auth_time = input.authTime;
    return signCompactJws({ alg: key.alg, kid: key.kid, typ: "JWT" }, claims, key.privateKey);
  }
}

/** OIDC Core §3.1.3.6: left half of the hash (SHA-256 for ES256/RS256) of the access token. */
export function atHash(accessToken: string, _alg: SigningAlg): string {
  const digest = createHash("sha256").update(accessToken).digest();
  return digest.subarray(0, 16).toString("base64url");
}
