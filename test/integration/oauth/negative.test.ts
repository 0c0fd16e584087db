/**
 * The token side's negative suite: every request here must be refused with the RFC's error code
 * and a useful description, over real HTTP, against real stores and a real CA. Positive cases of
 * client_credentials and token exchange sit next to their negatives.
 * Codes come from `authorize()`, standing in for `/oauth2/authorize` (the users part builds it).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import { authorize, postForm } from "../../support/oauth/authorize.ts";
import { LOOPBACK_RESOURCE, MCP_RESOURCE, OTHER_RESOURCE, startOAuthFixture, TD, type OAuthFixture } from "../../support/oauth/fixture.ts";
import { JWT_SPIFFE } from "../../support/oauth/memory-clients.ts";
import { mintWithAsKeys } from "../../support/oauth/mint.ts";

let f: OAuthFixture;
let tokenUrl: string;
let introspectUrl: string;
const REDIRECT = "http://127.0.0.1:7777/callback";
const CLAUDE = `spiffe://${TD}/claude`;
const CODER = `spiffe://${TD}/coder`;
const ACCESS = "urn:ietf:params:oauth:token-type:access_token";
const JWT = "urn:ietf:params:oauth:token-type:jwt";
const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";

beforeAll(async () => {
  f = await startOAuthFixture();
  tokenUrl = `${f.issuer}/oauth2/token`;
  introspectUrl = `${f.issuer}/oauth2/introspect`;
  f.clients.add({ clientId: "agent-cli", redirectUris: [REDIRECT] });
  f.clients.add({ clientId: "other-cli", redirectUris: [REDIRECT] });
  f.clients.add({ clientId: "claude", tokenEndpointAuthMethod: "spiffe_jwt", spiffeId: CLAUDE, grantTypes: ["client_credentials", EXCHANGE, "authorization_code"], redirectUris: [REDIRECT] });
  f.clients.add({ clientId: "coder", tokenEndpointAuthMethod: "spiffe_jwt", spiffeId: CODER, grantTypes: ["client_credentials", EXCHANGE] });
});
afterAll(async () => {
  await f?.close();
});

/** The client assertion a workload sends (a JWT-SVID for the issuer). */
function svidAuth(spiffeId: string): Record<string, string> {
  return { client_assertion_type: JWT_SPIFFE, client_assertion: f.ca.issueJwtSvid({ spiffeId, audience: f.issuer }).token };
}

async function codeExchange(extra: Record<string, string | string[]> = {}, auth?: Awaited<ReturnType<typeof authorize>>) {
  const a = auth ?? (await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice", resources: [MCP_RESOURCE], scopes: ["files:read"] }));
  const res = await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "agent-cli", code: a.code, redirect_uri: REDIRECT, code_verifier: a.codeVerifier, ...extra });
  return { ...res, auth: a };
}

async function introspect(token: string, clientId = "agent-cli") {
  return (await postForm(introspectUrl, { client_id: clientId, token })).body;
}

function expectError(res: { status: number; body: any }, error: string, status = 400, description?: RegExp) {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error });
  expect(typeof res.body.error_description).toBe("string");
  expect(Object.keys(res.body).sort()).toEqual(["error", "error_description"]);
  if (description) expect(res.body.error_description).toMatch(description);
}

describe("authorization_code: PKCE (RFC 7636)", () => {
  test("wrong code_verifier → invalid_grant", async () => {
    expectError(await codeExchange({ code_verifier: "x".repeat(43) }), "invalid_grant", 400, /does not match/);
  });
  test("missing code_verifier → invalid_grant", async () => {
    const a = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice" });
    expectError(await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "agent-cli", code: a.code, redirect_uri: REDIRECT }), "invalid_grant", 400, /code_verifier is required/);
  });
  test("code_verifier too short (RFC 7636 §4.1) → invalid_grant", async () => {
    expectError(await codeExchange({ code_verifier: "short" }), "invalid_grant", 400, /43–128/);
  });
  test("a failed PKCE attempt spends the code: the right verifier afterwards is refused", async () => {
    const first = await codeExchange({ code_verifier: "y".repeat(43) });
    expectError(first, "invalid_grant");
    expectError(await codeExchange({}, first.auth), "invalid_grant", 400, /already used/);
  });
});

describe("authorization_code: binding to the authorization request", () => {
  test("redirect_uri differing from the authorize request → invalid_grant", async () => {
    expectError(await codeExchange({ redirect_uri: "http://127.0.0.1:7777/other" }), "invalid_grant", 400, /redirect_uri/);
  });
  test("redirect_uri missing → invalid_request", async () => {
    const a = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice" });
    expectError(await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "agent-cli", code: a.code, code_verifier: a.codeVerifier }), "invalid_request", 400, /redirect_uri/);
  });
  test("a code issued to another client → invalid_grant", async () => {
    const a = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice" });
    expectError(await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "other-cli", code: a.code, redirect_uri: REDIRECT, code_verifier: a.codeVerifier }), "invalid_grant", 400, /another client/);
  });
  test("unknown code → invalid_grant", async () => {
    expectError(await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "agent-cli", code: "nope", redirect_uri: REDIRECT, code_verifier: "z".repeat(43) }), "invalid_grant", 400, /unknown/);
  });
  test("expired code → invalid_grant", async () => {
    const a = await authorize(f, { clientId: "agent-cli", redirectUri: REDIRECT, user: "alice" });
    f.advanceOAuthClock(f.config.oauth.codeTtlSeconds + 1);
    try {
      expectError(await codeExchange({}, a), "invalid_grant", 400, /expired/);
    } finally {
      f.advanceOAuthClock(-(f.config.oauth.codeTtlSeconds + 1));
    }
  });
  test("code replay → invalid_grant, and the tokens it issued are revoked (RFC 6749 §4.1.2)", async () => {
    const first = await codeExchange();
    expect(first.status).toBe(200);
    expect((await introspect(first.body.access_token)).active).toBe(true);
    expectError(await codeExchange({}, first.auth), "invalid_grant", 400, /already used/);
    expect(await introspect(first.body.access_token)).toEqual({ active: false });
    expect(await introspect(first.body.refresh_token)).toEqual({ active: false });
    expectError(await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: first.body.refresh_token }), "invalid_grant", 400, /revoked/);
    const codeHash = createHash("sha256").update(first.auth.code).digest("base64url").slice(0, 12);
    const replay = (await f.auditRecords()).filter((r) => r.kind === "oauth.code.replay" && r.details?.code === codeHash);
    expect(replay.length).toBe(1);
    expect(replay[0]!.details).toMatchObject({ client_id: "agent-cli", revoked_family: true, revoked_access_tokens: 1 });
    expect(JSON.stringify(replay)).not.toContain(first.auth.code);
  });
});

describe("resources (RFC 8707)", () => {
  test("a resource on the token request that was not granted → invalid_target", async () => {
    expectError(await codeExchange({ resource: OTHER_RESOURCE }), "invalid_target", 400, /not granted/);
  });
  test("a resource that is no Service in the policy → invalid_target", async () => {
    expectError(await codeExchange({ resource: "https://unknown.example.test/mcp" }), "invalid_target", 400, /not a Service/);
  });
  test("a resource with a fragment → invalid_target", async () => {
    expectError(await codeExchange({ resource: `${MCP_RESOURCE}#frag` }), "invalid_target", 400, /fragment/);
  });
  test("a relative resource → invalid_target", async () => {
    expectError(await codeExchange({ resource: "/mcp" }), "invalid_target", 400, /absolute URI/);
  });
  test("http for a non-loopback host → invalid_target; http on loopback is allowed", async () => {
    expectError(await codeExchange({ resource: "http://mcp.example.test/mcp" }), "invalid_target", 400, /https/);
    expect(f.oauth.resources.validate(LOOPBACK_RESOURCE)).toBe(LOOPBACK_RESOURCE);
  });
  test("client_credentials without a resource → invalid_target", async () => {
    expectError(await postForm(tokenUrl, { grant_type: "client_credentials", ...svidAuth(CLAUDE) }), "invalid_target", 400, /needs a resource/);
  });
});

describe("refresh tokens (RFC 9700 §4.14)", () => {
  test("reuse of a rotated refresh token revokes the whole family", async () => {
    const first = (await codeExchange()).body;
    const second = (await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: first.refresh_token })).body;
    expect(second.refresh_token).toStartWith("slr_");
    expectError(await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: first.refresh_token }), "invalid_grant", 400, /already used/);
    expect(await introspect(second.access_token)).toEqual({ active: false });
    expect(await introspect(second.refresh_token)).toEqual({ active: false });
    expectError(await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: second.refresh_token }), "invalid_grant", 400, /revoked/);
    const reuse = (await f.auditRecords()).filter((r) => r.kind === "oauth.refresh.reuse");
    expect(reuse.at(-1)!.details).toMatchObject({ family_revoked: true });
  });
  test("widening the scope → invalid_scope", async () => {
    const first = (await codeExchange()).body;
    expectError(await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: first.refresh_token, scope: "files:read admin" }), "invalid_scope", 400, /admin/);
  });
  test("a resource outside the grant → invalid_target", async () => {
    const first = (await codeExchange()).body;
    expectError(await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: first.refresh_token, resource: OTHER_RESOURCE }), "invalid_target");
  });
  test("a refresh token presented by another client → invalid_grant (and not rotated)", async () => {
    const first = (await codeExchange()).body;
    expectError(await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "other-cli", refresh_token: first.refresh_token }), "invalid_grant", 400, /another client/);
    expect((await postForm(tokenUrl, { grant_type: "refresh_token", client_id: "agent-cli", refresh_token: first.refresh_token })).status).toBe(200);
  });
});

describe("request shape (RFC 6749 §3.1, §3.2, §5.2)", () => {
  test("unknown grant_type → unsupported_grant_type", async () => {
    expectError(await postForm(tokenUrl, { grant_type: "password", client_id: "agent-cli" }), "unsupported_grant_type", 400, /password/);
  });
  test("missing grant_type → invalid_request", async () => {
    expectError(await postForm(tokenUrl, { client_id: "agent-cli" }), "invalid_request", 400, /grant_type/);
  });
  test("a grant the client is not registered for → unauthorized_client", async () => {
    expectError(await postForm(tokenUrl, { grant_type: "client_credentials", client_id: "agent-cli", resource: MCP_RESOURCE }), "unauthorized_client");
  });
  test("malformed form (bad percent-encoding) → invalid_request", async () => {
    expectError(await postForm(tokenUrl, "grant_type=authorization_code&code=%E0%A4%A&client_id=agent-cli"), "invalid_request", 400, /percent-encoding/);
  });
  test("JSON instead of a form → invalid_request (415)", async () => {
    const res = await fetch(tokenUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ grant_type: "client_credentials" }) });
    expectError({ status: res.status, body: await res.json() }, "invalid_request", 415);
  });
  test("duplicate parameters → invalid_request", async () => {
    expectError(await postForm(tokenUrl, "grant_type=authorization_code&grant_type=refresh_token&client_id=agent-cli"), "invalid_request", 400, /more than once/);
  });
  test("oversized body → 413 invalid_request", async () => {
    expectError(await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "agent-cli", code: "c".repeat(40_000) }), "invalid_request", 413, /larger than/);
  });
  test("too many parameters → invalid_request", async () => {
    const many = Array.from({ length: 40 }, (_, i) => `p${i}=1`).join("&");
    expectError(await postForm(tokenUrl, `grant_type=authorization_code&${many}`), "invalid_request", 400, /too many parameters/);
  });
  test("unregistered client → invalid_client (401)", async () => {
    expectError(await postForm(tokenUrl, { grant_type: "authorization_code", client_id: "nobody", code: "x" }), "invalid_client", 401);
  });
  test("introspection without client authentication → invalid_client", async () => {
    expectError(await postForm(introspectUrl, { token: "x" }), "invalid_client", 401);
  });
  test("every token response carries Cache-Control: no-store", async () => {
    const ok = await codeExchange();
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const bad = await postForm(tokenUrl, { grant_type: "nope", client_id: "agent-cli" });
    expect(bad.headers.get("cache-control")).toBe("no-store");
  });
});

describe("client_credentials for SPIFFE workloads", () => {
  test("sub = the proven SPIFFE ID, aud = the resource, no refresh token", async () => {
    const res = await postForm(tokenUrl, { grant_type: "client_credentials", resource: MCP_RESOURCE, ...svidAuth(CLAUDE) });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBeUndefined();
    const at = decodeJwt(res.body.access_token);
    expect(at).toMatchObject({ sub: CLAUDE, aud: MCP_RESOURCE, client_id: "claude" });
  });
});

describe("token exchange (RFC 8693)", () => {
  async function workloadToken(spiffeId: string, resource = MCP_RESOURCE): Promise<string> {
    const res = await postForm(tokenUrl, { grant_type: "client_credentials", resource, ...svidAuth(spiffeId) });
    expect(res.status).toBe(200);
    return res.body.access_token;
  }

  test("a workload exchanges its own JWT-SVID for an access token for a resource", async () => {
    const svid = f.ca.issueJwtSvid({ spiffeId: CLAUDE, audience: f.issuer }).token;
    const res = await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: svid, subject_token_type: JWT, resource: OTHER_RESOURCE, ...svidAuth(CLAUDE) });
    expect(res.status).toBe(200);
    expect(res.body.issued_token_type).toBe(ACCESS);
    expect(decodeJwt(res.body.access_token)).toMatchObject({ sub: CLAUDE, aud: OTHER_RESOURCE });
  });

  test("delegation allowed by may_act; a further hop without may_act is refused", async () => {
    const userToken = await mintWithAsKeys(f, { subject: `spiffe://${TD}/user/alice`, audience: [MCP_RESOURCE], clientId: "claude", scopes: ["files:read"], extra: { may_act: { sub: CODER } } });
    const res = await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: userToken, subject_token_type: ACCESS, resource: MCP_RESOURCE, ...svidAuth(CODER) });
    expect(res.status).toBe(200);
    const delegated = decodeJwt(res.body.access_token);
    expect(delegated).toMatchObject({ sub: `spiffe://${TD}/user/alice`, act: { sub: CODER }, client_id: "coder", scope: "files:read" });
    // coder, holding the delegated token (issued to it), hands it on to claude with an actor token.
    const actor = f.ca.issueJwtSvid({ spiffeId: CLAUDE, audience: f.issuer }).token;
    const hop = await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: res.body.access_token, subject_token_type: ACCESS, actor_token: actor, actor_token_type: JWT, resource: MCP_RESOURCE, ...svidAuth(CODER) });
    expectError(hop, "invalid_grant", 400, /may_act/);
  });

  test("may_act naming someone else → invalid_grant", async () => {
    const userToken = await mintWithAsKeys(f, { subject: `spiffe://${TD}/user/alice`, audience: [MCP_RESOURCE], clientId: "claude", scopes: [], extra: { may_act: { sub: CLAUDE } } });
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: userToken, subject_token_type: ACCESS, resource: MCP_RESOURCE, ...svidAuth(CODER) }), "invalid_grant", 400, /may_act does not allow/);
  });

  test("nested actors: the holder delegates to itself on top of an existing act chain", async () => {
    const userToken = await mintWithAsKeys(f, { subject: `spiffe://${TD}/user/alice`, audience: [MCP_RESOURCE], clientId: "coder", scopes: [], act: { sub: `spiffe://${TD}/gateway` } });
    const res = await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: userToken, subject_token_type: ACCESS, resource: MCP_RESOURCE, ...svidAuth(CODER) });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).act).toEqual({ sub: CODER, act: { sub: `spiffe://${TD}/gateway` } });
  });

  test("a token of another client without may_act → invalid_grant", async () => {
    const claudeToken = await workloadToken(CLAUDE);
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: claudeToken, subject_token_type: ACCESS, resource: MCP_RESOURCE, ...svidAuth(CODER) }), "invalid_grant", 400, /may_act/);
  });

  test("moving a user's token to a resource outside its audience → invalid_target", async () => {
    const userToken = await mintWithAsKeys(f, { subject: `spiffe://${TD}/user/alice`, audience: [MCP_RESOURCE], clientId: "coder", scopes: [] });
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: userToken, subject_token_type: ACCESS, resource: OTHER_RESOURCE, ...svidAuth(CODER) }), "invalid_target", 400, /subject token's audience/);
  });

  test("a disallowed audience → invalid_target", async () => {
    const own = await workloadToken(CLAUDE);
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: own, subject_token_type: ACCESS, audience: "https://evil.example.net", ...svidAuth(CLAUDE) }), "invalid_target", 400, /not a Service/);
  });

  test("JWT-SVID subject token with a wrong aud → invalid_grant", async () => {
    const svid = f.ca.issueJwtSvid({ spiffeId: CLAUDE, audience: "https://someone-else.example" }).token;
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: svid, subject_token_type: JWT, resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_grant", 400, /JWT-SVID/);
  });

  test("expired JWT-SVID subject token → invalid_grant", async () => {
    f.setCaSkew(-3600_000);
    let svid: string;
    try {
      svid = f.ca.issueJwtSvid({ spiffeId: CLAUDE, audience: f.issuer }).token;
    } finally {
      f.setCaSkew(0);
    }
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: svid, subject_token_type: JWT, resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_grant", 400, /expired|exp/);
  });

  test("JWT-SVID of another (federated) trust domain → invalid_grant", async () => {
    const svid = f.partner.issueJwtSvid({ spiffeId: "spiffe://partner.test/claude", audience: f.issuer }).token;
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: svid, subject_token_type: JWT, resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_grant", 400, /trust domain "partner.test"/);
  });

  test("JWT-SVID with alg none → invalid_grant", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const forged = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: CLAUDE, aud: [f.issuer], exp: now + 300, iat: now })}.`;
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: forged, subject_token_type: JWT, resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_grant", 400, /alg/);
  });

  test("a revoked access token as subject token → invalid_grant", async () => {
    const own = await workloadToken(CLAUDE);
    expect((await postForm(`${f.issuer}/oauth2/revoke`, { token: own, ...svidAuth(CLAUDE) })).status).toBe(200);
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: own, subject_token_type: ACCESS, resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_grant", 400, /revoked/);
  });

  test("actor_token without actor_token_type → invalid_request", async () => {
    const own = await workloadToken(CLAUDE);
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: own, subject_token_type: ACCESS, actor_token: own, resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_request", 400, /actor_token_type/);
  });

  test("an unsupported subject_token_type → invalid_request", async () => {
    expectError(await postForm(tokenUrl, { grant_type: EXCHANGE, subject_token: "x", subject_token_type: "urn:ietf:params:oauth:token-type:saml2", resource: MCP_RESOURCE, ...svidAuth(CLAUDE) }), "invalid_request", 400, /not supported/);
  });
});

describe("userinfo", () => {
  test("without a token → 401 invalid_token; without openid → 403 insufficient_scope", async () => {
    const none = await fetch(`${f.issuer}/oauth2/userinfo`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const token = (await codeExchange()).body.access_token;
    const res = await fetch(`${f.issuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error).toBe("insufficient_scope");
  });
});
