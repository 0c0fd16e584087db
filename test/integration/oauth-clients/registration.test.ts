/** RFC 7591 dynamic registration over real HTTP: metadata validation, SPIFFE-backed binding, limits. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ISSUER, MCP_SDK_LIKE, openFixture, PARTNER_TD, register, STRANGER_TD, TD, type Fixture } from "./support.ts";

let f: Fixture;
beforeAll(async () => {
  f = await openFixture({ registrationRate: { ratePerSecond: 1000, burst: 1000 } });
});
afterAll(() => f.close());

const svid = (ca: Fixture["ca"], path: string, audience: string | string[] = ISSUER, ttlSeconds?: number) =>
  ca.issueJwtSvid({ spiffeId: `spiffe://${ca.trustDomain}/${path}`, audience, ...(ttlSeconds ? { ttlSeconds } : {}) }).token;

describe("RFC 7591 §3.2.1 registration response", () => {
  test("a public client gets a client_id, the issue time and its metadata; never a secret", async () => {
    const r = await register(f, MCP_SDK_LIKE);
    expect(r.status).toBe(201);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(typeof r.body.client_id).toBe("string");
    expect(r.body.client_id_issued_at).toBeNumber();
    expect(r.body).toMatchObject({ redirect_uris: MCP_SDK_LIKE.redirect_uris, token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], application_type: "web", client_name: "test agent" });
    expect(r.body).not.toHaveProperty("client_secret");
    const client = await f.clients.registry.get(r.body.client_id as string);
    expect(client).toMatchObject({ clientId: r.body.client_id, origin: "dynamic", tokenEndpointAuthMethod: "none" });
    const audit = (await f.auditRecords("oauth.client.register")).find((a) => a.details?.clientId === r.body.client_id);
    expect(audit?.decision).toBe("allow");
  });

  test("a client secret method is replaced by none (RFC 7591 §3.2.1 lets the AS substitute values)", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, token_endpoint_auth_method: "client_secret_basic" });
    expect(r.status).toBe(201);
    expect(r.body.token_endpoint_auth_method).toBe("none");
  });

  test("defaults: authorization_code + code, public", async () => {
    const r = await register(f, { redirect_uris: ["https://app.example.com/cb"] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "none" });
  });
});

describe("redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7)", () => {
  for (const uri of ["http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost:9/cb", "https://app.example.com/cb?x=1"]) {
    test(`accepted: ${uri}`, async () => {
      expect((await register(f, { redirect_uris: [uri] })).status).toBe(201);
    });
  }
  const refused: [string, string, string?][] = [
    ["http://app.example.com/cb", "non-loopback host"],
    ["http://10.0.0.1/cb", "non-loopback host"],
    ["https://app.example.com/cb#frag", "fragment"],
    ["javascript:alert(1)", "not allowed"],
    ["com.example.app:/cb", "only for application_type", "web"],
    ["myapp:/cb", "reverse domain name"],
    ["https://user:pw@app.example.com/cb", "user info"],
    ["not a uri", "not an absolute URI"],
  ];
  for (const [uri, why, type] of refused) {
    test(`refused (${why}): ${uri}`, async () => {
      const r = await register(f, { redirect_uris: [uri], ...(type ? { application_type: type } : {}) });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("invalid_redirect_uri");
      expect(r.body.error_description).toContain(why);
    });
  }
  test("a private-use scheme is fine for a native app", async () => {
    const r = await register(f, { redirect_uris: ["com.example.app:/oauth/cb"], application_type: "native" });
    expect(r.status).toBe(201);
  });
  test("authorization_code without redirect_uris", async () => {
    const r = await register(f, { client_name: "x" });
    expect(r.body.error).toBe("invalid_redirect_uri");
  });
  test("more than 10 redirect URIs", async () => {
    const r = await register(f, { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://a.example/${i}`) });
    expect(r.body.error).toBe("invalid_redirect_uri");
  });
});

describe("metadata validation names the field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["application_type", { application_type: "desktop" }, "application_type"],
    ["grant type implicit", { grant_types: ["implicit"] }, "grant_types"],
    ["grant/response inconsistency (RFC 7591 §2.1)", { grant_types: ["client_credentials"], response_types: ["code"], token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${TD}/a` }, "inconsistent"],
    ["response_types token", { response_types: ["token"] }, "response_types"],
    ["unknown auth method", { token_endpoint_auth_method: "tls_client_auth" }, "token_endpoint_auth_method"],
    ["private_key_jwt without keys", { token_endpoint_auth_method: "private_key_jwt" }, "jwks"],
    ["jwks and jwks_uri together", { token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [{ kty: "EC" }] }, jwks_uri: "https://a.example/jwks" }, "must not both"],
    ["private key in jwks", { token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [{ kty: "EC", d: "secret" }] } }, "public"],
    ["client_name too long", { client_name: "x".repeat(201) }, "client_name"],
    ["client_name not a string", { client_name: 7 }, "client_name"],
    ["scope syntax", { scope: "a  b" }, "scope"],
    ["client_credentials for a public client", { grant_types: ["client_credentials"], response_types: [] }, "client_credentials"],
    ["spiffe_id without proof", { spiffe_id: `spiffe://${TD}/agent` }, "needs proof"],
    ["spiffe_id in an unknown trust domain", { token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${STRANGER_TD}/agent` }, "trust domain"],
    ["spiffe_id not a SPIFFE ID", { token_endpoint_auth_method: "spiffe_jwt", spiffe_id: "https://x" }, "spiffe_id"],
    ["spiffe_jwt without spiffe_id", { token_endpoint_auth_method: "spiffe_jwt" }, "spiffe_id"],
    
  ];
  for (const [name, extra, field] of cases) {
    test(name, async () => {
      const r = await register(f, { ...MCP_SDK_LIKE, ...extra });
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(["invalid_client_metadata", "invalid_software_statement"]).toContain(r.body.error as string);
      expect(r.body.error_description).toContain(field);
    });
  }
  test("a workload proven only at registration (JWT-SVID) must prove itself at every token request: `none` becomes spiffe_jwt", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, spiffe_id: `spiffe://${TD}/agents/*`, software_statement: svid(f.ca, "agents/a") });
    expect(r.status).toBe(201);
    expect(r.body.token_endpoint_auth_method).toBe("spiffe_jwt");
    expect(r.body.spiffe_id).toBe(`spiffe://${TD}/agents/*`);
  });
  test("unknown fields are ignored (RFC 7591 §2)", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, frobnicate: true });
    expect(r.status).toBe(201);
    expect(r.body).not.toHaveProperty("frobnicate");
  });
});

describe("request body", () => {
  test("malformed JSON", async () => {
    const r = await register(f, null, { raw: "{not json" });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: "invalid_client_metadata", error_description: "the body is not valid JSON" });
  });
  test("a JSON array", async () => {
    expect((await register(f, [1, 2])).body.error).toBe("invalid_client_metadata");
  });
  test("oversized metadata (20 KiB)", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, padding: "x".repeat(20 * 1024) });
    expect(r.status).toBe(413);
    expect(r.body.error).toBe("invalid_client_metadata");
  });
  test("not JSON content type", async () => {
    const r = await register(f, MCP_SDK_LIKE, { headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(r.status).toBe(415);
    expect(r.body.error).toBe("invalid_client_metadata");
  });
});

describe("SPIFFE-backed registration (JWT-SVID as software_statement)", () => {
  test("binds the client to the JWT-SVID's SPIFFE ID", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, software_statement: svid(f.ca, "agent/claude") });
    expect(r.status).toBe(201);
    expect(r.body.spiffe_id).toBe(`spiffe://${TD}/agent/claude`);
    const rec = f.clients.registry.list().find((c) => c.clientId === r.body.client_id);
    expect(rec?.registeredBy?.proof).toBe("jwt-svid");
  });
  test("the draft's shape: client_assertion with client_assertion_type jwt-spiffe", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe", client_assertion: svid(f.ca, "agent/codex") });
    expect(r.status).toBe(201);
    expect(r.body.spiffe_id).toBe(`spiffe://${TD}/agent/codex`);
    const other = await register(f, { ...MCP_SDK_LIKE, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: "x.y.z" });
    expect(other.body.error).toBe("invalid_client_metadata");
  });
  test("a federated trust domain's JWT-SVID works", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, token_endpoint_auth_method: "spiffe_jwt", software_statement: svid(f.partner, "svc") });
    expect(r.status).toBe(201);
    expect(r.body.spiffe_id).toBe(`spiffe://${PARTNER_TD}/svc`);
  });
  test("wrong aud", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, software_statement: svid(f.ca, "agent", "https://elsewhere.example") });
    expect(r.body.error).toBe("invalid_software_statement");
    expect(r.body.error_description).toContain("aud");
  });
  test("aud with a second value (draft §3.1: the issuer as sole value)", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, software_statement: svid(f.ca, "agent", [ISSUER, "https://other"]) });
    expect(r.body.error).toBe("invalid_software_statement");
  });
  test("another trust domain", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, software_statement: svid(f.stranger, "agent") });
    expect(r.body.error).toBe("invalid_software_statement");
    expect(r.body.error_description).toContain(STRANGER_TD);
    const denied = (await f.auditRecords("oauth.client.register")).filter((a) => a.decision === "deny");
    expect(denied.some((a) => String(a.details?.reason).includes(STRANGER_TD))).toBe(true);
  });
  test("spiffe_id contradicting the proven one", async () => {
    const r = await register(f, { ...MCP_SDK_LIKE, spiffe_id: `spiffe://${TD}/someone-else`, software_statement: svid(f.ca, "agent") });
    expect(r.body.error).toBe("invalid_client_metadata");
    expect(r.body.error_description).toContain("contradicts");
  });
});

describe("rate limit per remote address", () => {
  test("429 with Retry-After once the burst is spent", async () => {
    const g = await openFixture({ registrationRate: { ratePerSecond: 0.01, burst: 2 } });
    try {
      expect((await register(g, MCP_SDK_LIKE)).status).toBe(201);
      expect((await register(g, MCP_SDK_LIKE)).status).toBe(201);
      const r = await register(g, MCP_SDK_LIKE);
      expect(r.status).toBe(429);
      expect(r.body.error).toBe("slow_down");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await g.close();
    }
  });
});
