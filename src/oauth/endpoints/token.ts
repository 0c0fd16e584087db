/**
 * POST /oauth2/token (RFC 6749 §3.2), as a visible pipeline:
 *   1. rate limit per address → form with limits (size, count, duplicates) → client authentication
 *      (ClientRegistry) → rate limit per client
 *   2. grant_type known, and registered for this client (unauthorized_client otherwise)
 *   3. the grant's own checks (grants/*.ts)
 *   4. JSON with `Cache-Control: no-store` (RFC 6749 §5.1); errors per §5.2
 */
import { authorizationCodeGrant } from "../grants/authorization-code.ts";
import { clientCredentialsGrant } from "../grants/client-credentials.ts";
import type { GrantHandler } from "../grants/context.ts";
import { refreshTokenGrant } from "../grants/refresh-token.ts";
import { tokenExchangeGrant } from "../grants/token-exchange.ts";
import { errorResponse, json } from "../http/respond.ts";
import { OAuthError, type GrantType } from "../types.ts";
import { authenticatedForm } from "./client-auth.ts";
import type { Endpoint, EndpointDeps } from "./context.ts";
import { endpointUrl, OAUTH_PATHS } from "./paths.ts";

const GRANTS: Record<GrantType, GrantHandler> = {
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
  "urn:ietf:params:oauth:grant-type:token-exchange": tokenExchangeGrant,
};

export function tokenEndpoint(deps: EndpointDeps): Endpoint {
  const endpoint = endpointUrl(deps.issuer, OAUTH_PATHS.token);
  return async (request, caller) => {
    try {
      const { params, auth } = await authenticatedForm(request, caller, endpoint, deps);
      const grantType = params.get("grant_type");
      if (!grantType) throw new OAuthError("invalid_request", 'the "grant_type" parameter is required');
      const handler = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType as GrantType] : undefined;
      if (!handler) throw new OAuthError("unsupported_grant_type", `grant_type "${grantType.slice(0, 80)}" is not supported (supported: ${Object.keys(GRANTS).join(", ")})`);
      if (!auth.client.grantTypes.includes(grantType as GrantType))
        throw new OAuthError("unauthorized_client", `client ${auth.client.clientId} is not registered for grant_type ${grantType}`);
      const body = await handler({ params, auth, now: deps.now() }, deps.grants);
      deps.clients.touch(auth.client.clientId);
      return json(body);
    } catch (err) {
      return errorResponse(err, deps.logger, { endpoint: "token" });
    }
  };
}
