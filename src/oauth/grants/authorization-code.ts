/**
 * grant_type=authorization_code (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3), checked in this order:
 *   1. `code`, `redirect_uri` present
 *   2. redeem the code once (unknown / expired → invalid_grant; replay → revoke what it issued)
 *   3. inside the same transaction: issued to this client, same redirect_uri, PKCE S256
 *   4. `resource` (if any) ⊆ the granted resources (RFC 8707 §2.2)
 *   5. sign the access token (jti reserved in step 2; the family is stored in the same transaction),
 *      id_token for `openid`, while the redemption commits; answer once it is committed
 */
import { OAuthError, type CodeGrant } from "../types.ts";
import { hashPrefix, newId } from "../tokens/secrets.ts";
import type { GrantHandler } from "./context.ts";
import { narrowResources, pkceProblem, required, requestedResources } from "./params.ts";

export const authorizationCodeGrant: GrantHandler = async ({ params, auth, now }, deps) => {
  const code = required(params, "code");
  const redirectUri = required(params, "redirect_uri");
  const verifier = params.get("code_verifier");
  const requested = requestedResources(params, deps.resources);
  const client = auth.client;

  const jti = newId();
  const accessExp = deps.minter.accessExpiry(now);
  const withRefresh = client.grantTypes.includes("refresh_token");
  const familyId = withRefresh ? deps.refresh.newFamilyId() : undefined;
  const refreshToken = familyId ? deps.refresh.newToken(familyId) : undefined;
  let audience: readonly string[] = [];

  const check = (grant: CodeGrant): OAuthError | undefined => {
    // RFC 6749 §4.1.3: "ensure that the authorization code was issued to the authenticated confidential client, or … public client".
    if (grant.clientId !== client.clientId) return new OAuthError("invalid_grant", "the authorization code was issued to another client");
    // RFC 6749 §4.1.3: redirect_uri identical to the one in the authorization request.
    if (grant.redirectUri !== redirectUri) return new OAuthError("invalid_grant", "redirect_uri does not match the one of the authorization request");
    const pkce = pkceProblem(verifier, grant.codeChallenge);
    if (pkce) return pkce;
    try {
      audience = narrowResources(requested, grant.resources, deps.resources);
    } catch (err) {
      return err as OAuthError;
    }
    return undefined;
  };
  const startFamily = (grant: CodeGrant) => {
    if (familyId && refreshToken)
      deps.refresh.startFamily(
        refreshToken,
        { clientId: client.clientId, subject: grant.subject, ...(grant.actor ? { actor: grant.actor } : {}), user: grant.user, scopes: grant.scopes, resources: grant.resources, authTime: grant.authTime },
        { jti, exp: accessExp },
      );
  };

  let redemption;
  try {
    redemption = await deps.codes.redeem(code, { accessTokens: [{ jti, exp: accessExp }], ...(familyId ? { familyId } : {}) }, check, startFamily);
  } catch (err) {
    if (err instanceof OAuthError) deps.audit.append({ kind: "oauth.code.refused", decision: "deny", details: { client_id: client.clientId, code: hashPrefix(code), reason: err.description } });
    throw err;
  }
  if (redemption.kind === "replay") {
    deps.audit.append({
      kind: "oauth.code.replay",
      decision: "deny",
      subject: redemption.subject,
      details: { client_id: client.clientId, code: hashPrefix(code), revoked_family: redemption.revokedFamily, revoked_access_tokens: redemption.revokedAccess },
    });
    throw new OAuthError("invalid_grant", "the authorization code was already used; the tokens it issued have been revoked (RFC 6749 §4.1.2)");
  }

  const grant = redemption.grant;
  const aud = audience.length > 0 ? audience : [deps.issuer];
  const access = await deps.minter.accessToken(
    { subject: grant.subject, audience: aud, clientId: client.clientId, scopes: grant.scopes, ...(grant.actor ? { act: { sub: grant.actor } } : {}), authTime: grant.authTime, jti },
    now,
  );
  const idToken = grant.scopes.includes("openid")
    ? await deps.minter.idToken({ userSpiffeId: grant.user.spiffeId, clientId: client.clientId, ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}), authTime: grant.authTime, accessToken: access.token }, now)
    : undefined;
  // Signed while the redemption commits; handed out only once it is kept.
  await redemption.committed;
  deps.audit.append({
    kind: "oauth.token.issue",
    decision: "allow",
    subject: grant.subject,
    details: { grant_type: "authorization_code", client_id: client.clientId, jti, aud, scope: grant.scopes.join(" "), user: grant.user.spiffeId, ...(familyId ? { family: familyId.slice(0, 8) } : {}) },
  });
  return {
    access_token: access.token,
    token_type: "Bearer",
    expires_in: access.exp - now,
    ...(grant.scopes.length > 0 ? { scope: grant.scopes.join(" ") } : {}),
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
};
