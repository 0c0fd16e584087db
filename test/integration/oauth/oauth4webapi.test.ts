/**
 * The token side against oauth4webapi, a strict client no one here wrote: discovery (RFC 8414),
 * code + PKCE with RFC 9207 `iss` validation, id_token (nonce, at_hash), refresh with rotation,
 * introspection (RFC 7662), revocation (RFC 7009), userinfo.
 * The authorization step is stood in by `authorize()` (test/support/oauth/authorize.ts): it calls
 * the real `AuthorizationCodes.issue` as `/oauth2/authorize` (the users part) does after consent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as oauth from "oauth4webapi";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { authorize } from "../../support/oauth/authorize.ts";
import { MCP_RESOURCE, startOAuthFixture, TD, type OAuthFixture } from "../../support/oauth/fixture.ts";

let f: OAuthFixture;
let as: oauth.AuthorizationServer;
const REDIRECT = "http://127.0.0.1:7777/callback";
const client: oauth.Client = { client_id: "agent-cli", token_endpoint_auth_method: "none" };
const insecure = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  f = await startOAuthFixture();
  f.clients.add({ clientId: "agent-cli", redirectUris: [REDIRECT], tokenEndpointAuthMethod: "none" });
  const issuer = new URL(f.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
});
afterAll(async () => {
  await f?.close();
});

async function codeFlow(scopes: string[], nonce?: string) {
  const auth = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice", resources: [MCP_RESOURCE], scopes, ...(nonce ? { nonce } : {}) });
  const params = oauth.validateAuthResponse(as, client, auth.callback, auth.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, auth.codeVerifier, {
    additionalParameters: { resource: MCP_RESOURCE },
    ...insecure,
  });
  return await oauth.processAuthorizationCodeResponse(as, client, response, nonce ? { expectedNonce: nonce, requireIdToken: true } : {});
}

describe("discovery (RFC 8414, OIDC Discovery)", () => {
  test("oauth4webapi accepts the metadata; required MCP fields are there", () => {
    expect(as.issuer).toBe(f.issuer);
    expect(as.code_challenge_methods_supported).toEqual(["S256"]);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(["none", "private_key_jwt", "spiffe_jwt", "spiffe_x509"]));
    expect(as.grant_types_supported).toContain("urn:ietf:params:oauth:grant-type:token-exchange");
    expect(as.token_endpoint).toBe(`${f.issuer}/oauth2/token`);
    expect((as as Record<string, unknown>).client_id_metadata_document_supported).toBe(true);
    expect(as.mtls_endpoint_aliases).toBeUndefined();
  });

  test("the OIDC document is the same and passes oauth4webapi's oidc discovery", async () => {
    const issuer = new URL(f.issuer);
    const oidc = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...insecure }));
    expect(oidc).toEqual(as);
  });

  test("JWKS publishes an ES256 and an RS256 key, public parts only", async () => {
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(["ES256", "RS256"]);
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
  });
});

describe("authorization code + PKCE (RFC 7636), iss (RFC 9207)", () => {
  test("issues an RFC 9068 access token, a refresh token and an id_token", async () => {
    const tokens = await codeFlow(["openid", "files:read"], "n-0S6_WzA2Mj");
    expect(tokens.token_type).toBe("bearer");
    const header = decodeProtectedHeader(tokens.access_token);
    expect(header.typ).toBe("at+jwt");
    expect(header.alg).toBe("ES256");
    const at = decodeJwt(tokens.access_token);
    expect(at.iss).toBe(f.issuer);
    expect(at.sub).toBe(`spiffe://${TD}/user/alice`);
    expect(at.aud).toBe(MCP_RESOURCE);
    expect(at.client_id).toBe("agent-cli");
    expect(at.scope).toBe("openid files:read");
    expect(typeof at.jti).toBe("string");
    expect(at.exp! - at.iat!).toBe(f.config.oauth.accessTokenTtlSeconds);
    expect(tokens.refresh_token).toStartWith("slr_");
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    expect(claims.sub).toBe(`spiffe://${TD}/user/alice`);
    expect(claims.nonce).toBe("n-0S6_WzA2Mj");
    expect(claims.aud).toBe("agent-cli");
    expect(typeof claims.auth_time).toBe("number");
    expect(typeof claims.at_hash).toBe("string");
    // The verifier the proxy will use accepts it, for its audience only.
    const verified = await f.oauth.verifier.verify(tokens.access_token, { audience: MCP_RESOURCE });
    expect(verified.sub).toBe(`spiffe://${TD}/user/alice`);
    await expect(f.oauth.verifier.verify(tokens.access_token, { audience: "https://api.example.test" })).rejects.toMatchObject({ error: "invalid_token" });
  });

  test("oauth4webapi refuses an authorization response whose iss is another issuer (RFC 9207)", async () => {
    const auth = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice", resources: [MCP_RESOURCE] });
    auth.callback.searchParams.set("iss", "https://evil.example");
    expect(() => oauth.validateAuthResponse(as, client, auth.callback, auth.state)).toThrow();
  });

  test("a workload-bound grant gives sub = workload, act = {sub: user}", async () => {
    const workload = `spiffe://${TD}/claude`;
    const auth = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "bob", resources: [MCP_RESOURCE], workload });
    const params = oauth.validateAuthResponse(as, client, auth.callback, auth.state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, auth.codeVerifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
    const at = decodeJwt(tokens.access_token);
    expect(at.sub).toBe(workload);
    expect(at.act).toEqual({ sub: `spiffe://${TD}/user/bob` });
  });
});

describe("refresh (rotation), introspection, revocation, userinfo", () => {
  test("refresh rotates; the old refresh token is then refused", async () => {
    const first = await codeFlow(["files:read", "files:write"]);
    const res = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), first.refresh_token!, { additionalParameters: { scope: "files:read" }, ...insecure });
    const second = await oauth.processRefreshTokenResponse(as, client, res);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope).toBe("files:read");
    expect(decodeJwt(second.access_token).aud).toBe(MCP_RESOURCE);
    // A third refresh with the new one works: the family's scope was not narrowed for good.
    const third = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), second.refresh_token!, insecure));
    expect(third.scope).toBe("files:read files:write");
  });

  test("introspection reports live tokens active with their claims, unknown ones inactive", async () => {
    const tokens = await codeFlow(["files:read"]);
    const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.None(), tokens.access_token, insecure));
    expect(active.active).toBe(true);
    expect(active.sub).toBe(`spiffe://${TD}/user/alice`);
    expect(active.client_id).toBe("agent-cli");
    expect(active.scope).toBe("files:read");
    const refresh = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.None(), tokens.refresh_token!, insecure));
    expect(refresh.active).toBe(true);
    const unknown = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.None(), "not-a-token", insecure));
    expect(unknown).toEqual({ active: false });
  });

  test("revoking the refresh token revokes its family and the access token it issued", async () => {
    const tokens = await codeFlow(["files:read"]);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), tokens.refresh_token!, insecure));
    const at = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.None(), tokens.access_token, insecure));
    expect(at.active).toBe(false);
    const refresh = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure);
    await expect(oauth.processRefreshTokenResponse(as, client, refresh)).rejects.toMatchObject({ error: "invalid_grant" });
    const records = await f.auditRecords();
    const revoke = records.filter((r) => r.kind === "oauth.token.revoke");
    expect(revoke.length).toBeGreaterThan(0);
    expect(JSON.stringify(revoke)).not.toContain(tokens.refresh_token!);
  });

  test("revoking an access token denies it by jti; unknown tokens still get 200", async () => {
    const tokens = await codeFlow(["files:read"]);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), tokens.access_token, insecure));
    await expect(f.oauth.verifier.verify(tokens.access_token)).rejects.toMatchObject({ error: "invalid_token" });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), "unknown-token", insecure));
  });

  test("userinfo answers for an openid token with the user's claims", async () => {
    const tokens = await codeFlow(["openid"], "nonce-ui");
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    const info = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, insecure));
    expect(info.sub).toBe(`spiffe://${TD}/user/alice`);
    expect(info.preferred_username).toBe("alice");
  });
});
