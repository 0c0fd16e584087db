/**
 * GET/POST /oauth2/userinfo (OIDC Core §5.3): a Bearer access token (RFC 6750 §2.1) with the
 * `openid` scope; the claims of the user it was issued for (`sub` = the user's SPIFFE ID, as in the
 * id_token). The user is the token's subject, or its actor when a workload acts for the user.
 */
import { errorResponse, json } from "../http/respond.ts";
import { OAUTH_LIMITS } from "../http/limits.ts";
import { rateLimited } from "../rate-limit.ts";
import { OAuthError } from "../types.ts";
import type { Endpoint, EndpointDeps } from "./context.ts";

export function userinfoEndpoint(deps: EndpointDeps): Endpoint {
  return async (request, caller) => {
    try {
      const byAddress = deps.limits.perAddress.take(`addr:${caller.remoteAddress ?? "unknown"}`);
      if (!byAddress.ok) throw rateLimited(byAddress.retryAfterSeconds);
      const token = bearer(request);
      const claims = await deps.verifier.verify(token);
      const scopes = typeof claims.scope === "string" ? claims.scope.split(" ") : [];
      if (!scopes.includes("openid"))
        throw new OAuthError("insufficient_scope", "the access token lacks the openid scope", { status: 403, headers: { "www-authenticate": 'Bearer error="insufficient_scope", scope="openid"' } });
      const user = deps.users.bySpiffeId(claims.sub) ?? (claims.act ? deps.users.bySpiffeId(claims.act.sub) : undefined);
      if (!user) throw new OAuthError("invalid_token", "the access token was not issued for a user", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
      return json({ sub: user.spiffeId, preferred_username: user.name, name: user.displayName ?? user.name });
    } catch (err) {
      return errorResponse(err, deps.logger, { endpoint: "userinfo" });
    }
  };
}

function bearer(request: Request): string {
  const header = request.headers.get("authorization");
  if (!header) throw new OAuthError("invalid_token", "a Bearer access token is required (RFC 6750 §2.1)", { status: 401, headers: { "www-authenticate": 'Bearer realm="sluice"' } });
  if (header.length > OAUTH_LIMITS.maxAuthorizationHeaderLength) throw new OAuthError("invalid_request", "the Authorization header is too long");
  const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (!m) throw new OAuthError("invalid_request", "the Authorization header is not `Bearer <token>` (RFC 6750 §2.1)", { headers: { "www-authenticate": 'Bearer error="invalid_request"' } });
  return m[1]!;
}
