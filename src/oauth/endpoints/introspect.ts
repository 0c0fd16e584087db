/**
 * POST /oauth2/introspect (RFC 7662). The caller authenticates as a client (§2.1). A token is
 * reported active only to the client it was issued to, or to a workload named in its `aud`
 * (a resource server); anything else, unknown, expired or revoked is `{"active": false}` (§2.2).
 */
import { errorResponse, json } from "../http/respond.ts";
import { OAuthError, type AccessTokenClaims, type AuthenticatedClient } from "../types.ts";
import { REFRESH_TOKEN_PREFIX } from "../tokens/refresh.ts";
import { authenticatedForm } from "./client-auth.ts";
import type { Endpoint, EndpointDeps } from "./context.ts";
import { endpointUrl, OAUTH_PATHS } from "./paths.ts";

const INACTIVE = { active: false } as const;

export function introspectionEndpoint(deps: EndpointDeps): Endpoint {
  const endpoint = endpointUrl(deps.issuer, OAUTH_PATHS.introspect);
  return async (request, caller) => {
    try {
      const { params, auth } = await authenticatedForm(request, caller, endpoint, deps);
      const token = params.get("token");
      if (!token) throw new OAuthError("invalid_request", 'the "token" parameter is required (RFC 7662 §2.1)');
      const body = token.startsWith(REFRESH_TOKEN_PREFIX) ? refreshInfo(token, auth, deps) : await accessInfo(token, auth, deps);
      return json(body);
    } catch (err) {
      return errorResponse(err, deps.logger, { endpoint: "introspect" });
    }
  };
}

async function accessInfo(token: string, auth: AuthenticatedClient, deps: EndpointDeps): Promise<Record<string, unknown>> {
  let claims: AccessTokenClaims;
  try {
    claims = await deps.verifier.verify(token);
  } catch (err) {
    if (err instanceof OAuthError) return INACTIVE;
    throw err;
  }
  const aud = typeof claims.aud === "string" ? [claims.aud] : [...claims.aud];
  const mayKnow = claims.client_id === auth.client.clientId || (auth.spiffeId !== undefined && aud.includes(auth.spiffeId));
  if (!mayKnow) return INACTIVE;
  return {
    active: true,
    token_type: "Bearer",
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    client_id: claims.client_id,
    ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
    ...(claims.act ? { act: claims.act } : {}),
    ...(claims.auth_time !== undefined ? { auth_time: claims.auth_time } : {}),
  };
}

function refreshInfo(token: string, auth: AuthenticatedClient, deps: EndpointDeps): Record<string, unknown> {
  const found = deps.refresh.lookup(token);
  if (!found || found.family.clientId !== auth.client.clientId) return INACTIVE;
  const { family } = found;
  return {
    active: true,
    token_type: "refresh_token",
    iss: deps.issuer,
    sub: family.subject,
    client_id: family.clientId,
    ...(family.scopes.length > 0 ? { scope: family.scopes.join(" ") } : {}),
    ...(family.resources.length > 0 ? { aud: family.resources.length === 1 ? family.resources[0] : family.resources } : {}),
    exp: family.expiresAt,
    ...(family.actor ? { act: { sub: family.actor } } : {}),
  };
}
