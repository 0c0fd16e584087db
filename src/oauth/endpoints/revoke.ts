/**
 * POST /oauth2/revoke (RFC 7009). A refresh token revokes its whole family and the access tokens
 * it issued (§2.1 "SHOULD also invalidate all access tokens based on the same authorization grant");
 * an access token is denied by `jti` until it expires. Only the client a token was issued to may
 * revoke it; unknown or foreign tokens still get 200 (§2.2).
 */
import { errorResponse } from "../http/respond.ts";
import { OAuthError, type AccessTokenClaims } from "../types.ts";
import { REFRESH_TOKEN_PREFIX } from "../tokens/refresh.ts";
import { hashPrefix } from "../tokens/secrets.ts";
import { authenticatedForm } from "./client-auth.ts";
import type { Endpoint, EndpointDeps } from "./context.ts";
import { endpointUrl, OAUTH_PATHS } from "./paths.ts";

export function revocationEndpoint(deps: EndpointDeps): Endpoint {
  const endpoint = endpointUrl(deps.issuer, OAUTH_PATHS.revoke);
  return async (request, caller) => {
    try {
      const { params, auth } = await authenticatedForm(request, caller, endpoint, deps);
      const token = params.get("token");
      if (!token) throw new OAuthError("invalid_request", 'the "token" parameter is required (RFC 7009 §2.1)');
      const clientId = auth.client.clientId;
      let outcome: string;
      if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
        outcome = await deps.refresh.revoke(token, clientId, "revoked by the client");
      } else {
        outcome = await revokeAccess(token, clientId, deps);
      }
      if (outcome === "revoked")
        deps.audit.append({ kind: "oauth.token.revoke", decision: "info", details: { client_id: clientId, token: hashPrefix(token), kind: token.startsWith(REFRESH_TOKEN_PREFIX) ? "refresh_token" : "access_token" } });
      return new Response(null, { status: 200, headers: { "cache-control": "no-store" } });
    } catch (err) {
      return errorResponse(err, deps.logger, { endpoint: "revoke" });
    }
  };
}

async function revokeAccess(token: string, clientId: string, deps: EndpointDeps): Promise<"revoked" | "unknown" | "other-client"> {
  let claims: AccessTokenClaims;
  try {
    claims = await deps.verifier.verify(token);
  } catch (err) {
    if (err instanceof OAuthError) return "unknown";
    throw err;
  }
  if (claims.client_id !== clientId) return "other-client";
  deps.revocations.revokeAccess([{ jti: claims.jti, exp: claims.exp }], deps.now());
  return "revoked";
}
