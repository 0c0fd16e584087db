/**
 * grant_type=refresh_token (RFC 6749 §6, OAuth 2.1 §4.3):
 *   1. `refresh_token` present
 *   2. rotate atomically: unknown / revoked / expired → invalid_grant; issued to another client →
 *      invalid_grant; a rotated token presented again → the family is revoked (RFC 9700 §4.14.2)
 *   3. `scope` and `resource` may narrow the grant for this access token, never widen it
 *   4. sign the access token (its jti recorded in the family in step 2); new refresh token
 */
import { OAuthError } from "../types.ts";
import { hashPrefix, newId } from "../tokens/secrets.ts";
import type { GrantHandler } from "./context.ts";
import { narrowResources, narrowScopes, required, requestedResources, requestedScopes } from "./params.ts";

export const refreshTokenGrant: GrantHandler = async ({ params, auth, now }, deps) => {
  const token = required(params, "refresh_token");
  const scopesAsked = requestedScopes(params);
  const resourcesAsked = requestedResources(params, deps.resources);
  const client = auth.client;
  const jti = newId();
  const exp = deps.minter.accessExpiry(now);
  let scopes: readonly string[] = [];
  let audience: readonly string[] = [];

  const rotation = await deps.refresh.rotate(token, { jti, exp }, (family) => {
    // RFC 6749 §6: the refresh token must have been issued to the authenticated client.
    if (family.clientId !== client.clientId) return new OAuthError("invalid_grant", "the refresh token was issued to another client");
    try {
      scopes = narrowScopes(scopesAsked, family.scopes, "original grant (RFC 6749 §6)");
      audience = narrowResources(resourcesAsked, family.resources, deps.resources);
    } catch (err) {
      return err as OAuthError;
    }
    return undefined;
  });
  if (rotation.kind === "reuse") {
    deps.audit.append({
      kind: "oauth.refresh.reuse",
      decision: "deny",
      subject: rotation.family.subject,
      details: { client_id: client.clientId, refresh_token: hashPrefix(token), family: rotation.familyId.slice(0, 8), family_revoked: rotation.revoked },
    });
    throw new OAuthError("invalid_grant", "the refresh token was already used; every token of its grant has been revoked (RFC 9700 §4.14.2)");
  }
  const family = rotation.family;
  const aud = audience.length > 0 ? audience : [deps.issuer];
  const access = await deps.minter.accessToken(
    { subject: family.subject, audience: aud, clientId: client.clientId, scopes, ...(family.actor ? { act: { sub: family.actor } } : {}), ...(family.authTime !== undefined ? { authTime: family.authTime } : {}), jti },
    now,
  );
  // Signed while the rotation commits; handed out only once it is kept.
  await rotation.committed;
  deps.audit.append({
    kind: "oauth.token.refresh",
    decision: "allow",
    subject: family.subject,
    details: { client_id: client.clientId, jti, aud, scope: scopes.join(" "), family: rotation.familyId.slice(0, 8) },
  });
  return {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.exp - now,
    ...(scopes.length > 0 ? { scope: scopes.join(" ") } : {}),
    refresh_token: rotation.refreshToken,
  };
};
