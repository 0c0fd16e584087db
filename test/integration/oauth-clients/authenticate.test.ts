/**
 * ClientRegistry.authenticate with real credentials: JWT-SVIDs from real CAs (own, federated,
 * stranger), private_key_jwt assertions signed with jose, attested public clients.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { OAuthError, type AuthenticatedClient, type CallerContext } from "../../../src/oauth/types.ts";
import { ASSERTION_TYPE_JWT_BEARER, ASSERTION_TYPE_JWT_SPIFFE } from "../../../src/oauth/clients/index.ts";
import { ISSUER, MCP_SDK_LIKE, openFixture, PARTNER_TD, register, STRANGER_TD, TD, type Fixture } from "./support.ts";

const TOKEN_ENDPOINT = `${ISSUER}/oauth2/token`;
let f: Fixture;
beforeAll(async () => {
  f = await openFixture({ registrationRate: { ratePerSecond: 1000, burst: 1000 } });
});
afterAll(() => f.close());

function auth(params: Record<string, string>, caller: CallerContext = {}, headers: Record<string, string> = {}): Promise<AuthenticatedClient> {
  return f.clients.registry.authenticate({ params: new URLSearchParams(params), headers: new Headers(headers), caller, endpoint: TOKEN_ENDPOINT });
}

async function refused(p: Promise<unknown>, contains: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OAuthError);
  expect((err as OAuthError).error).toBe("invalid_client");
  expect((err as OAuthError).status).toBe(401);
  expect((err as OAuthError).description).toContain(contains);
}

async function registered(body: Record<string, unknown>): Promise<string> {
  const r = await register(f, body);
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  return r.body.client_id as string;
}

describe("none (public clients)", () => {
  test("client_id alone authenticates a public client", async () => {
    const id = await registered(MCP_SDK_LIKE);
    const a = await auth({ client_id: id });
    expect(a.method).toBe("none");
    expect(a.client.clientId).toBe(id);
  });
  test("unregistered client", () => refused(auth({ client_id: "no-such-client" }), "unknown client_id"));
  test("no client_id", () => refused(auth({}), "client_id is missing"));
  test("HTTP Basic (no secrets exist)", () => refused(auth({ client_id: "x" }, {}, { authorization: "Basic eDp5" }), "no client secrets"));
  test("client_secret parameter", () => refused(auth({ client_id: "x", client_secret: "y" }), "no client secrets"));
  test("method mismatch: a spiffe_jwt client cannot authenticate with none", async () => {
    const id = await registered({ ...MCP_SDK_LIKE, token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${TD}/svc` });
    await refused(auth({ client_id: id }), "registered with token_endpoint_auth_method spiffe_jwt");
  });
});

describe("spiffe_jwt (draft §3.1)", () => {
  let clientId: string;
  beforeAll(async () => {
    clientId = await registered({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${TD}/workers/*` });
  });
  const jwt = (ca: Fixture["ca"], path: string, audience: string | string[] = ISSUER, ttlSeconds?: number) =>
    ca.issueJwtSvid({ spiffeId: `spiffe://${ca.trustDomain}/${path}`, audience, ...(ttlSeconds ? { ttlSeconds } : {}) }).token;
  const params = (assertion: string, id?: string) => ({ client_assertion_type: ASSERTION_TYPE_JWT_SPIFFE, client_assertion: assertion, ...(id ? { client_id: id } : {}) });

  test("a JWT-SVID under the prefix authenticates; the proven SPIFFE ID is returned", async () => {
    const a = await auth(params(jwt(f.ca, "workers/w1"), clientId));
    expect(a).toMatchObject({ method: "spiffe_jwt", spiffeId: `spiffe://${TD}/workers/w1` });
    expect(a.client.clientId).toBe(clientId);
  });
  test("without client_id, an exactly bound client is found by the JWT-SVID's sub", async () => {
    const id = await registered({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${TD}/exact` });
    const a = await auth(params(jwt(f.ca, "exact")));
    expect(a.client.clientId).toBe(id);
  });
  test("a federated trust domain", async () => {
    const id = await registered({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${PARTNER_TD}/svc` });
    expect((await auth(params(jwt(f.partner, "svc"), id))).spiffeId).toBe(`spiffe://${PARTNER_TD}/svc`);
  });
  test("wrong aud", () => refused(auth(params(jwt(f.ca, "workers/w1", "https://elsewhere"), clientId)), "aud"));
  test("the token endpoint as aud (draft: the issuer only)", () => refused(auth(params(jwt(f.ca, "workers/w1", TOKEN_ENDPOINT), clientId)), "aud"));
  test("a second audience", () => refused(auth(params(jwt(f.ca, "workers/w1", [ISSUER, "https://x"]), clientId)), "only"));
  test("expired", async () => {
    const token = jwt(f.ca, "workers/w1", ISSUER, 60);
    f.clock.advance(10 * 60_000);
    try {
      await refused(auth(params(token, clientId)), "expired");
    } finally {
      f.clock.advance(-10 * 60_000);
    }
  });
  test("another trust domain (not federated)", () => refused(auth(params(jwt(f.stranger, "workers/w1"), clientId)), `no bundle for trust domain ${STRANGER_TD}`));
  test("alg none", async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const token = `${enc({ alg: "none", kid: "k" })}.${enc({ sub: `spiffe://${TD}/workers/w1`, aud: [ISSUER], exp: Math.floor(Date.now() / 1000) + 60 })}.`;
    await refused(auth(params(token, clientId)), "alg");
  });
  test("a forged signature", async () => {
    const token = jwt(f.ca, "workers/w1");
    const [h, p] = token.split(".");
    const other = jwt(f.ca, "workers/w2").split(".")[2];
    await refused(auth(params(`${h}.${p}.${other}`, clientId)), "signature");
  });
  test("sub outside the client's spiffe_id", () => refused(auth(params(jwt(f.ca, "intruder"), clientId)), "does not match"));
  test("no client for that SPIFFE ID", () => refused(auth(params(jwt(f.ca, "nobody-registered"))), "no client is registered"));
  test("method mismatch: a public client presenting a JWT-SVID", async () => {
    const id = await registered(MCP_SDK_LIKE);
    await refused(auth(params(jwt(f.ca, "workers/w1"), id)), "registered with token_endpoint_auth_method none");
  });
  test("an unsupported assertion type", () => refused(auth({ client_id: clientId, client_assertion_type: "urn:x", client_assertion: "a.b.c" }), "not supported"));
});

describe("private_key_jwt (RFC 7523 §3)", () => {
  let clientId: string;
  let privateKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" };
    clientId = await registered({ ...MCP_SDK_LIKE, token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [jwk] } });
  });
  const assertion = (claims: { aud?: string; iss?: string; sub?: string; exp?: number; jti?: string } = {}) =>
    new SignJWT({ jti: claims.jti ?? crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(claims.iss ?? clientId)
      .setSubject(claims.sub ?? clientId)
      .setAudience(claims.aud ?? ISSUER)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60)
      .sign(privateKey);
  const params = (a: string) => ({ client_id: clientId, client_assertion_type: ASSERTION_TYPE_JWT_BEARER, client_assertion: a });

  test("aud = issuer or the token endpoint", async () => {
    expect((await auth(params(await assertion()))).method).toBe("private_key_jwt");
    expect((await auth(params(await assertion({ aud: TOKEN_ENDPOINT })))).client.clientId).toBe(clientId);
  });
  test("jti replay", async () => {
    const a = await assertion();
    await auth(params(a));
    await refused(auth(params(a)), "already used");
  });
  test("wrong aud", async () => refused(auth(params(await assertion({ aud: "https://elsewhere" }))), "aud"));
  test("expired", async () => refused(auth(params(await assertion({ exp: Math.floor(Date.now() / 1000) - 120 }))), "expired"));
  test("sub is not the client", async () => refused(auth(params(await assertion({ sub: "someone" }))), "sub"));
  test("signed by an unregistered key", async () => {
    const other = await generateKeyPair("ES256");
    const a = await new SignJWT({ jti: "x1" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(clientId).setSubject(clientId).setAudience(ISSUER).setExpirationTime("1m").sign(other.privateKey);
    await refused(auth(params(a)), "signature");
  });
  test("exp too far ahead", async () => refused(auth(params(await assertion({ exp: Math.floor(Date.now() / 1000) + 3600 }))), "ahead"));
});

describe("attested public clients", () => {
  const agent = `spiffe://${TD}/agent/claude`;
  test("registration binds to the attested ID; the token request must come from that workload", async () => {
    const id = (await f.clients.registry.register({ ...MCP_SDK_LIKE }, { remoteAddress: "127.0.0.1", attestedSpiffeId: agent })).clientId;
    const client = await f.clients.registry.get(id);
    expect(client).toMatchObject({ origin: "attested", spiffeId: agent });
    expect((await auth({ client_id: id }, { attestedSpiffeId: agent })).spiffeId).toBe(agent);
    await refused(auth({ client_id: id }, { attestedSpiffeId: `spiffe://${TD}/other` }), "calling process is");
    await refused(auth({ client_id: id }, {}), "local workload");
  });
  test("a request spiffe_id contradicting the attested one is refused", async () => {
    const err = await f.clients.registry.register({ ...MCP_SDK_LIKE, spiffe_id: `spiffe://${TD}/else` }, { attestedSpiffeId: agent }).catch((e: unknown) => e);
    expect((err as OAuthError).error).toBe("invalid_client_metadata");
    expect((err as OAuthError).description).toContain("contradicts the attested");
  });
  test("attestation and a JWT-SVID that disagree", async () => {
    const token = f.ca.issueJwtSvid({ spiffeId: `spiffe://${TD}/else`, audience: ISSUER }).token;
    const err = await f.clients.registry.register({ ...MCP_SDK_LIKE, software_statement: token }, { attestedSpiffeId: agent }).catch((e: unknown) => e);
    expect((err as OAuthError).description).toContain("contradicts");
  });
  test("an attested client may use client_credentials without any secret", async () => {
    const r = await f.clients.registry.register({ grant_types: ["client_credentials"], response_types: [] }, { attestedSpiffeId: agent });
    expect(r.grantTypes).toEqual(["client_credentials"]);
  });
});
