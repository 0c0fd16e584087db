/**
 * Negative cases against a real `sluice serve` child (the AS as composed for production, over its
 * public listener and its mTLS listener): refusals at /oauth2/authorize that must never redirect
 * to an unregistered URI, PKCE and `resource` errors sent back with `iss`, malformed and
 * oversized token requests, JWT-SVID client assertions (fetched for real from serve's Workload
 * API with `sluice svid jwt`, as the workload this test runs as) with the wrong audience, `alg:
 * none`, another trust domain, a non-SVID client certificate over mTLS, CSRF-less POSTs.
 * Each group has its positive control, so a refusal means the case and not a broken setup.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { runSluice } from "../../support/run-sluice.ts";
import { makeTempDirs, startServe, type ServeProcess } from "../../support/serve-process.ts";
import { localTls } from "../../unit/spiffe/tls.ts";

setDefaultTimeout(30_000);

const TD = "example.org";
const JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";
const MCP_PORT = 4443;
const RESOURCE = `https://127.0.0.1:${MCP_PORT}/mcp`;
const REDIRECT = "http://127.0.0.1:7777/callback";

const POLICY = `apiVersion: sluice/v1alpha1
kind: WorkloadIdentity
metadata: {name: agent}
spec:
  workloadID: agent
  selectors: [{process:uid: [${process.getuid!()}], process:binary:path: [${JSON.stringify(process.execPath)}]}]
---
apiVersion: sluice/v1alpha1
kind: Service
metadata: {name: mcp}
spec:
  addresses: [{address: "127.0.0.1", port: ${MCP_PORT}}]
`;

let serve: ServeProcess;
let issuer = "";
let mtlsUrl = "";
let publicClient = "";
let workloadClient = "";
let x509Client = "";

async function post(path: string, body: string | Record<string, string>, contentType = "application/x-www-form-urlencoded"): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(`${issuer}${path}`, { method: "POST", headers: { "content-type": contentType }, body: typeof body === "string" ? body : new URLSearchParams(body) });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: r.status, body: parsed, headers: r.headers };
}

function expectError(res: { status: number; body: any }, error: string, status: number, description?: RegExp) {
  expect({ status: res.status, error: res.body?.error }).toEqual({ status, error });
  expect(typeof res.body.error_description).toBe("string");
  if (description) expect(res.body.error_description).toMatch(description);
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+:\d+:\d+/); // never a stack trace
}

async function jwtSvid(audience: string): Promise<string> {
  const r = await runSluice(["svid", "jwt", "--audience", audience, "--socket", join(serve.dir, "run", "workload.sock")]);
  if (r.code !== 0) throw new Error(`sluice svid jwt failed: ${r.stderr}`);
  return r.stdout.trim();
}

function authorizeQuery(over: Record<string, string | undefined> = {}): string {
  const verifier = randomBytes(32).toString("base64url");
  const q: Record<string, string | undefined> = {
    response_type: "code",
    client_id: publicClient,
    redirect_uri: REDIRECT,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: "st",
    resource: RESOURCE,
    ...over,
  };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, v);
  return `${issuer}/oauth2/authorize?${params}`;
}

beforeAll(async () => {
  const dirs = makeTempDirs("sluice-negative-serve-");
  writeFileSync(join(dirs.policyDir, "agent.yaml"), POLICY);
  serve = await startServe({ dirs, env: { SLUICE_TRUST_DOMAIN: TD, SLUICE_LOG_LEVEL: "info", SLUICE_OAUTH_MTLS_LISTEN: "127.0.0.1:0" } });
  issuer = serve.url.replace("127.0.0.1", "localhost");
  mtlsUrl = String((await serve.waitForLog((l) => l.msg === "sluice serving")).mtls);
  const pub = await post("/oauth2/register", JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], client_name: "negative" }), "application/json");
  expect(pub.status).toBe(201);
  publicClient = pub.body.client_id;
  const wl = await post("/oauth2/register", JSON.stringify({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_jwt", spiffe_id: `spiffe://${TD}/agent`, client_name: "workload" }), "application/json");
  expect(wl.status).toBe(201);
  workloadClient = wl.body.client_id;
  const x509 = await post("/oauth2/register", JSON.stringify({ grant_types: ["client_credentials"], response_types: [], token_endpoint_auth_method: "spiffe_x509", spiffe_id: `spiffe://${TD}/agent`, client_name: "x509 workload" }), "application/json");
  expect(x509.status).toBe(201);
  x509Client = x509.body.client_id;
});

afterAll(async () => {
  if (serve) {
    await serve.stop();
    serve.cleanup();
  }
});

describe("/oauth2/authorize on sluice serve", () => {
  test("control: a valid request goes to the login page", async () => {
    const r = await fetch(authorizeQuery(), { redirect: "manual" });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toStartWith("/login?return_to=");
  });
  test.each([
    ["an unregistered redirect_uri", { redirect_uri: "https://evil.example/cb" }],
    ["an unregistered client", { client_id: "nobody" }],
    ["a redirect_uri with another path", { redirect_uri: "http://127.0.0.1:7777/other" }],
  ])("%s is shown as an error page, never redirected to", async (_name, over) => {
    const r = await fetch(authorizeQuery(over), { redirect: "manual" });
    expect(r.status).toBe(400);
    expect(r.headers.get("location")).toBeNull();
    expect(await r.text()).not.toContain("evil.example/cb?");
  });
  test.each([
    ["PKCE missing", { code_challenge: undefined }, "invalid_request"],
    ["PKCE plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["resource absent", { resource: undefined }, "invalid_target"],
    ["resource that is no Service", { resource: "https://127.0.0.1:9/mcp" }, "invalid_target"],
  ])("%s → %s at the redirect_uri, with state and iss (RFC 9207)", async (_name, over, error) => {
    const r = await fetch(authorizeQuery(over), { redirect: "manual" });
    expect(r.status).toBe(303);
    const location = new URL(r.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get("error")).toBe(error);
    expect(location.searchParams.get("state")).toBe("st");
    expect(location.searchParams.get("iss")).toBe(issuer);
    expect(location.searchParams.get("code")).toBeNull();
  });
});

describe("/oauth2/token on sluice serve: request shape", () => {
  test("unknown grant_type → unsupported_grant_type", async () => {
    expectError(await post("/oauth2/token", { grant_type: "password", client_id: publicClient, username: "a", password: "b" }), "unsupported_grant_type", 400);
  });
  test("unregistered client → invalid_client (401)", async () => {
    expectError(await post("/oauth2/token", { grant_type: "authorization_code", client_id: "nobody", code: "x", redirect_uri: REDIRECT }), "invalid_client", 401);
  });
  test("an unknown code → invalid_grant", async () => {
    expectError(await post("/oauth2/token", { grant_type: "authorization_code", client_id: publicClient, code: "no-such-code", redirect_uri: REDIRECT, code_verifier: "v".repeat(43) }), "invalid_grant", 400);
  });
  test("an unknown refresh token → invalid_grant", async () => {
    expectError(await post("/oauth2/token", { grant_type: "refresh_token", client_id: publicClient, refresh_token: "no-such-token" }), "invalid_grant", 400);
  });
  test("malformed form → invalid_request", async () => {
    expectError(await post("/oauth2/token", `grant_type=authorization_code&code=%E0%A4%A&client_id=${publicClient}`), "invalid_request", 400, /percent-encoding/);
  });
  test("JSON instead of a form → 415 invalid_request", async () => {
    expectError(await post("/oauth2/token", JSON.stringify({ grant_type: "authorization_code" }), "application/json"), "invalid_request", 415);
  });
  test("oversized body → 413", async () => {
    expectError(await post("/oauth2/token", { grant_type: "authorization_code", client_id: publicClient, code: "c".repeat(100_000) }), "invalid_request", 413);
  });
  test("registration with malformed JSON → invalid_client_metadata", async () => {
    expectError(await post("/oauth2/register", "{not json", "application/json"), "invalid_client_metadata", 400, /JSON/);
  });
});

describe("JWT-SVID client assertions on sluice serve (draft-ietf-oauth-spiffe-client-auth §3.1)", () => {
  const cc = (assertion: string) => post("/oauth2/token", { grant_type: "client_credentials", client_id: workloadClient, client_assertion_type: JWT_SPIFFE, client_assertion: assertion, resource: RESOURCE });

  test("control: a JWT-SVID from the Workload API for the issuer → an access token", async () => {
    const r = await cc(await jwtSvid(issuer));
    expect(r.status).toBe(200);
    expect(r.body.token_type).toBe("Bearer");
  });
  test("a JWT-SVID for another audience → invalid_client", async () => {
    expectError(await cc(await jwtSvid("https://elsewhere.example")), "invalid_client", 401, /aud/);
  });
  test("the token endpoint as audience (the issuer only) → invalid_client", async () => {
    expectError(await cc(await jwtSvid(`${issuer}/oauth2/token`)), "invalid_client", 401, /aud/);
  });
  test("alg none → invalid_client", async () => {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    expectError(await cc(`${enc({ alg: "none", typ: "JWT" })}.${enc({ sub: `spiffe://${TD}/agent`, aud: [issuer], exp: now + 60, iat: now })}.`), "invalid_client", 401);
  });
  test("a JWT-SVID of another trust domain → invalid_client", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const kid = (await exportJWK(publicKey)).x!.slice(0, 8);
    const token = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid, typ: "JWT" }).setSubject("spiffe://stranger.example/agent").setAudience(issuer).setIssuedAt().setExpirationTime("1m").sign(privateKey);
    expectError(await cc(token), "invalid_client", 401, /trust domain|stranger/);
  });
  test("a forged JWT-SVID in sluice's own trust domain (unknown key) → invalid_client", async () => {
    const { privateKey } = await generateKeyPair("ES256");
    const token = await new SignJWT({}).setProtectedHeader({ alg: "ES256", kid: "forged", typ: "JWT" }).setSubject(`spiffe://${TD}/agent`).setAudience(issuer).setIssuedAt().setExpirationTime("1m").sign(privateKey);
    expectError(await cc(token), "invalid_client", 401);
  });
});

describe("mTLS listener on sluice serve (RFC 8705, spiffe_x509)", () => {
  function mtlsToken(client: { cert: string; key: string } | undefined): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${mtlsUrl}/oauth2/token`,
        { method: "POST", ...client, rejectUnauthorized: false, headers: { "content-type": "application/x-www-form-urlencoded" } },
        (res) => {
          let data = "";
          res.on("data", (c) => (data += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
        },
      );
      req.on("error", reject);
      req.end(new URLSearchParams({ grant_type: "client_credentials", client_id: x509Client, resource: RESOURCE }).toString());
    });
  }
  test("control: an X.509-SVID from the Workload API → an access token", async () => {
    const dir = join(serve.dir, "svid");
    const r = await runSluice(["svid", "x509", "--write", dir, "--socket", join(serve.dir, "run", "workload.sock")]);
    expect(r.code).toBe(0);
    const answer = await mtlsToken({ cert: readFileSync(join(dir, "svid.0.pem"), "utf8"), key: readFileSync(join(dir, "svid.0.key"), "utf8") });
    expect(answer.status).toBe(200);
    expect(answer.body.token_type).toBe("Bearer");
  });
  test("a client certificate that is not an X.509-SVID → invalid_client, not anonymous", async () => {
    const tls = localTls();
    expectError(await mtlsToken({ cert: tls.cert, key: tls.key }), "invalid_client", 401, /client certificate rejected/);
  });
  test("no client certificate for a spiffe_x509 client → invalid_client", async () => {
    expectError(await mtlsToken(undefined), "invalid_client", 401, /X\.509-SVID/);
  });
});

describe("pages on sluice serve: CSRF", () => {
  test("consent and logout POSTs without a CSRF token are refused", async () => {
    for (const path of ["/oauth2/authorize/consent", "/logout", "/login/options"]) {
      const r = await fetch(`${issuer}${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: issuer }, body: "decision=allow&pending=x", redirect: "manual" });
      expect([path, r.status]).toEqual([path, 403]);
    }
  });
});
