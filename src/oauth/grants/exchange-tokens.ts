/**
 * The tokens RFC 8693 token exchange accepts as `subject_token` / `actor_token`:
 * - `urn:ietf:params:oauth:token-type:access_token`: a sluice access token (AccessTokenVerifier)
 * - `urn:ietf:params:oauth:token-type:jwt`: a JWT-SVID of this trust domain with `aud` = the issuer
 *   (verifyJwtSvid: every MUST of the JWT-SVID spec, incl. `alg: none` refused)
 */
import { SvidError, verifyJwtSvid } from "../../spiffe/index.ts";
import { OAuthError, type AccessTokenClaims } from "../types.ts";
import type { GrantDeps } from "./context.ts";
import type { ActorClaim } from "../tokens/minter.ts";

export const TOKEN_TYPE = {
  accessToken: "urn:ietf:params:oauth:token-type:access_token",
  jwt: "urn:ietf:params:oauth:token-type:jwt",
} as const;

const MAX_ACT_DEPTH = 8;

export interface ExchangeToken {
  readonly sub: string;
  readonly kind: "access_token" | "jwt-svid";
  /** Set for sluice access tokens. */
  readonly clientId?: string;
  readonly scopes?: readonly string[];
  /** Set for sluice access tokens: the resources the subject consented to. */
  readonly audience?: readonly string[];
  readonly act?: ActorClaim;
  /** RFC 8693 §4.4. */
  readonly mayAct?: { readonly sub?: string };
}

export async function readExchangeToken(token: string, type: string, role: "subject_token" | "actor_token", deps: GrantDeps, now: number): Promise<ExchangeToken> {
  if (type === TOKEN_TYPE.accessToken) {
    let claims: AccessTokenClaims;
    try {
      claims = await deps.verifier.verify(token);
    } catch (err) {
      if (err instanceof OAuthError) throw new OAuthError("invalid_grant", `${role}: ${err.description}`);
      throw err;
    }
    return {
      sub: claims.sub,
      kind: "access_token",
      clientId: claims.client_id,
      scopes: typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [],
      audience: typeof claims.aud === "string" ? [claims.aud] : [...claims.aud],
      ...(claims.act ? { act: actorChain(claims.act, role) } : {}),
      ...mayAct(claims.may_act, role),
    };
  }
  if (type === TOKEN_TYPE.jwt) {
    try {
      const svid = verifyJwtSvid(token, deps.ca.bundles, { audience: deps.issuer, now: now * 1000 });
      if (svid.trustDomain !== deps.ca.trustDomain)
        throw new OAuthError("invalid_grant", `${role}: the JWT-SVID is from trust domain "${svid.trustDomain}", not ${deps.ca.trustDomain}`);
      return { sub: svid.spiffeId, kind: "jwt-svid", ...mayAct(svid.claims.may_act, role) };
    } catch (err) {
      if (err instanceof SvidError) throw new OAuthError("invalid_grant", `${role}: not a valid JWT-SVID for this issuer (${err.rule}: ${err.message})`);
      throw err;
    }
  }
  throw new OAuthError("invalid_request", `${role}_type "${type.slice(0, 80)}" is not supported (use ${TOKEN_TYPE.accessToken} or ${TOKEN_TYPE.jwt})`);
}

function actorChain(value: unknown, role: string, depth = 0): ActorClaim {
  if (depth >= MAX_ACT_DEPTH) throw new OAuthError("invalid_grant", `${role}: the act claim nests more than ${MAX_ACT_DEPTH} actors`);
  const v = value as { sub?: unknown; act?: unknown } | null;
  if (typeof v !== "object" || v === null || typeof v.sub !== "string") throw new OAuthError("invalid_grant", `${role}: malformed act claim (RFC 8693 §4.1)`);
  return v.act === undefined ? { sub: v.sub } : { sub: v.sub, act: actorChain(v.act, role, depth + 1) };
}

function mayAct(value: unknown, role: string): { mayAct?: { sub?: string } } {
  if (value === undefined) return {};
  const v = value as { sub?: unknown } | null;
  if (typeof v !== "object" || v === null || (v.sub !== undefined && typeof v.sub !== "string")) throw new OAuthError("invalid_grant", `${role}: malformed may_act claim (RFC 8693 §4.4)`);
  return { mayAct: v.sub === undefined ? {} : { sub: v.sub } };
}

/** Depth of a chain (for the limit when nesting one more actor). */
export function actDepth(act: ActorClaim | undefined): number {
  let d = 0;
  for (let a = act; a; a = a.act) d++;
  return d;
}
