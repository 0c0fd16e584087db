/**
 * The token side composed with the clients part's real registry (src/oauth/clients), as `sluice
 * serve` will compose them: oauth4webapi registers a public client (RFC 7591) at /oauth2/register,
 * then runs code + PKCE, refresh and revocation against it. The authorize step is stood in by
 * `authorize()` (the users part builds /oauth2/authorize).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as oauth from "oauth4webapi";
import { decodeJwt } from "jose";
import { authorize } from "../../support/oauth/authorize.ts";
import { MCP_RESOURCE, startOAuthFixture, TD, type OAuthFixture } from "../../support/oauth/fixture.ts";

let f: OAuthFixture;
let as: oauth.AuthorizationServer;
const REDIRECT = "http://127.0.0.1:7777/callback";
const insecure = { [oauth.allowInsecureRequests]: true } as const;

beforeAll(async () => {
  f = await startOAuthFixture({ realClients: true });
  const issuer = new URL(f.issuer);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
});
afterAll(async () => {
  await f?.close();
});

describe("token side + the real ClientRegistry", () => {
  test("DCR public client → code + PKCE → refresh → revoke", async () => {
    const registered = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], client_name: "agent" }, insecure),
    );
    const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: "none" };
    const auth = await authorize(f, { clientId: client.client_id, redirectUri: REDIRECT, user: "alice", resources: [MCP_RESOURCE], scopes: ["files:read"] });
    const params = oauth.validateAuthResponse(as, client, auth.callback, auth.state);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, auth.codeVerifier, insecure));
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: `spiffe://${TD}/user/alice`, aud: MCP_RESOURCE, client_id: client.client_id });
    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, insecure));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token!, insecure));
    const after = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.None(), refreshed.access_token, insecure));
    expect(after.active).toBe(false);
  });
});

describe("a SPIFFE-backed client of the real registry", () => {
  test("registered with spiffe_jwt for a /* prefix, gets client_credentials tokens with sub = the proven SVID", async () => {
    const reg = await fetch(`${f.issuer}/oauth2/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${TD}/workers/*` }),
    });
    expect(reg.status).toBe(201);
    const { client_id } = (await reg.json()) as { client_id: string };
    const svid = f.ca.issueJwtSvid({ spiffeId: `spiffe://${TD}/workers/w1`, audience: f.issuer }).token;
    const res = await fetch(`${f.issuer}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe", client_assertion: svid, resource: MCP_RESOURCE }),
    });
    const body = (await res.json()) as Record<string, string>;
    expect(res.status).toBe(200);
    expect(decodeJwt(body.access_token!)).toMatchObject({ sub: `spiffe://${TD}/workers/w1`, aud: MCP_RESOURCE, client_id });
  });
});
