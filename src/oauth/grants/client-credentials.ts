/**
 * grant_type=client_credentials (RFC 6749 §4.4, OAuth 2.1 §4.2) for SPIFFE-authenticated
 * workloads only: `sub` is the SPIFFE ID the request proved (JWT-SVID, X.509-SVID or local
 * attestation), never something the client merely claims. No refresh token (OAuth 2.1 §4.2.3).
 */
import { OAuthError } from "../types.ts";
import type { GrantHandler } from "./context.ts";
import { narrowScopes, requestedResources, requestedScopes } from "./params.ts";

export const clientCredentialsGrant: GrantHandler = async ({ params, auth, now }, deps) => {
  if (!auth.spiffeId)
    throw new OAuthError("unauthorized_client", "client_credentials is only for workloads that prove a SPIFFE ID (spiffe_jwt, spiffe_x509 or local attestation)");
  const resources = requestedResources(params, deps.resources);
  if (!resources) throw new OAuthError("invalid_target", "client_credentials needs a resource (RFC 8707): the token is audience-restricted");
  const allowed = auth.client.scope?.split(" ").filter(Boolean);
  const asked = requestedScopes(params) ?? [];
  const scopes = allowed ? narrowScopes(asked, allowed, "client's registered scope") : asked;
  const access = await deps.minter.accessToken({ subject: auth.spiffeId, audience: resources, clientId: auth.client.clientId, scopes }, now);
  deps.audit.append({
    kind: "oauth.token.issue",
    decision: "allow",
    subject: auth.spiffeId,
    details: { grant_type: "client_credentials", client_id: auth.client.clientId, jti: access.jti, aud: resources, scope: scopes.join(" "), auth_method: auth.method },
  });
  return { access_token: access.token, token_type: "Bearer", expires_in: access.exp - now, ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}) };
};
