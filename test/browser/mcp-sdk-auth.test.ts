/**
 * The MCP TypeScript SDK's client `auth()` against a real `sluice serve` (issue 5 tests): RFC 9728
 * discovery at an MCP resource server run here (a Service in policy on a loopback port, its
 * protected resource metadata naming sluice as its authorization server), RFC 8414 discovery,
 * RFC 7591 registration (bound by local attestation to the workload this test process is in
 * policy), the authorization request in headless Chromium (passkey login with a CDP virtual
 * authenticator, consent), the code at the SDK's loopback redirect_uri, the exchange with PKCE and
 * `resource`, then a refresh. The access token is checked as RFC 9068 against sluice's JWKS, and
 * the resource server itself accepts it.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { chromium, type Browser, type Page } from "playwright-core";
import { runSluice } from "../support/run-sluice.ts";
import { makeTempDirs, startServe, type ServeProcess } from "../support/serve-process.ts";

const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const TRUST_DOMAIN = "example.org";
const WORKLOAD = `spiffe://${TRUST_DOMAIN}/agent`;
const SCOPE = "mcp:tools";

setDefaultTimeout(30_000);

/** This test process is the "agent": root running bun, as the attestor sees it over loopback. */
function policy(mcpPort: number): string {
  return `apiVersion: sluice/v1alpha1
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
  addresses: [{address: "127.0.0.1", port: ${mcpPort}}]
  labels: {app: mcp}
---
apiVersion: sluice/v1alpha1
kind: CredentialSource
metadata: {name: mcp-svid}
spec:
  jwtSVID: {audience: [mcp]}
---
apiVersion: sluice/v1alpha1
kind: CredentialBinding
metadata: {name: agent-mcp}
spec:
  credentialSource: mcp-svid
  workloadID: agent
  propagation: {injection: {selectors: [{app: mcp}]}}
`;
}

/** An MCP resource server's auth surface: RFC 9728 metadata and 401 + WWW-Authenticate until a sluice token for it arrives. */
function startResourceServer(issuerOf: () => string) {
  let resource = "";
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const prm = `${url.origin}/.well-known/oauth-protected-resource/mcp`;
      if (url.pathname === "/.well-known/oauth-protected-resource/mcp")
        return Response.json({ resource, authorization_servers: [issuerOf()], scopes_supported: [SCOPE], bearer_methods_supported: ["header"] });
      if (url.pathname !== "/mcp") return new Response("not found", { status: 404 });
      const token = req.headers.get("authorization")?.match(/^Bearer (.+)$/)?.[1];
      const challenge = { status: 401, headers: { "www-authenticate": `Bearer resource_metadata="${prm}", scope="${SCOPE}"` } };
      if (!token) return new Response(null, challenge);
      jwks ??= createRemoteJWKSet(new URL(`${issuerOf()}/oauth2/jwks`));
      try {
        await jwtVerify(token, jwks, { issuer: issuerOf(), audience: resource, typ: "at+jwt" });
      } catch {
        return new Response(null, challenge);
      }
      return Response.json({ ok: true });
    },
  });
  resource = `http://127.0.0.1:${server.port}/mcp`;
  return { server, resource, port: server.port! };
}

/** The SDK's storage and redirect hooks; the browser stands in for the user's. */
class BrowserProvider implements OAuthClientProvider {
  info: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  authorizationUrls: URL[] = [];
  constructor(
    readonly redirectUrl: string,
    private readonly open: (url: URL) => Promise<void>,
  ) {}
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "sdk agent", redirect_uris: [this.redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  state() {
    return "sdk-state-1";
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  async redirectToAuthorization(url: URL) {
    this.authorizationUrls.push(url);
    await this.open(url);
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

let serve: ServeProcess;
let browser: Browser;
let page: Page;
let issuer = "";
let mcp: ReturnType<typeof startResourceServer>;
const callbacks: URL[] = [];
let callbackServer: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  mcp = startResourceServer(() => issuer);
  callbackServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/callback") callbacks.push(url);
      return new Response("<p>you may close this window</p>", { headers: { "content-type": "text/html" } });
    },
  });
  const dirs = makeTempDirs("sluice-mcp-sdk-");
  writeFileSync(join(dirs.policyDir, "mcp.yaml"), policy(mcp.port));
  serve = await startServe({ dirs, env: { SLUICE_TRUST_DOMAIN: TRUST_DOMAIN, SLUICE_LOG_LEVEL: "info" } });
  issuer = serve.url.replace("127.0.0.1", "localhost");
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  mcp?.server.stop(true);
  callbackServer?.stop(true);
  if (serve) {
    await serve.stop();
    serve.cleanup();
  }
});

describe("MCP SDK auth() against sluice serve", () => {
  test("the issuer is http://localhost:PORT", async () => {
    const meta = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    expect(meta.issuer).toBe(issuer);
    expect(issuer).toMatch(/^http:\/\/localhost:\d+$/);
  });

  test("sluice user add prints an enrollment link; Chromium registers a passkey through it", async () => {
    const added = await runSluice(["user", "add", "alice", "--json"], { env: { SLUICE_DATA_DIR: serve.dataDir, SLUICE_TRUST_DOMAIN: TRUST_DOMAIN } });
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    const link = JSON.parse(added.stdout) as { url: string; spiffeId: string };
    expect(link.url.startsWith(`${issuer}/enroll/`)).toBe(true);
    const context = await browser.newContext();
    page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto(link.url);
    await page.getByRole("button", { name: "Create passkey" }).click();
    await page.waitForURL(/\/account\?enrolled=1$/);
    // Sign out, so the authorization below goes through a passkey login.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForSelector("text=You are signed out");
  });

  test("auth(): discovery, registration, login + consent in the browser, code → RFC 9068 token, refresh", async () => {
    const redirect = `http://127.0.0.1:${callbackServer.port}/callback`;
    const provider = new BrowserProvider(redirect, async (url) => {
      await page.goto(url.href);
      await page.getByRole("button", { name: "Sign in with a passkey" }).click();
      await page.waitForSelector("text=Allow access?");
      const consent = await page.textContent("dl");
      for (const expected of [WORKLOAD, "sdk agent", `spiffe://${TRUST_DOMAIN}/user/alice`, mcp.resource, SCOPE]) expect(consent).toContain(expected);
      await page.getByRole("button", { name: "Allow" }).click();
      await page.waitForURL(/\/callback\?/);
    });

    // The MCP server says 401 and where its metadata is, as a client would learn it.
    const first = await fetch(mcp.resource);
    expect(first.status).toBe(401);
    const resourceMetadataUrl = new URL(first.headers.get("www-authenticate")!.match(/resource_metadata="([^"]+)"/)![1]!);

    expect(await auth(provider, { serverUrl: mcp.resource, resourceMetadataUrl })).toBe("REDIRECT");
    // Registered by RFC 7591 with sluice, no secret (a public client).
    expect(provider.info?.client_id).toBeTruthy();
    expect((provider.info as { client_secret?: string }).client_secret).toBeUndefined();
    const asked = provider.authorizationUrls[0]!;
    expect(asked.origin + asked.pathname).toBe(`${issuer}/oauth2/authorize`);
    expect(asked.searchParams.get("resource")).toBe(mcp.resource);
    expect(asked.searchParams.get("code_challenge_method")).toBe("S256");
    expect(asked.searchParams.get("scope")).toBe(SCOPE);

    const cb = callbacks.at(-1)!;
    expect(cb.searchParams.get("state")).toBe("sdk-state-1");
    expect(cb.searchParams.get("iss")).toBe(issuer);
    const code = cb.searchParams.get("code")!;
    expect(await auth(provider, { serverUrl: mcp.resource, resourceMetadataUrl, authorizationCode: code })).toBe("AUTHORIZED");

    const tokens = provider.saved!;
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.refresh_token).toBeTruthy();
    const jwks = createRemoteJWKSet(new URL(`${issuer}/oauth2/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer, audience: mcp.resource, typ: "at+jwt" });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ iss: issuer, aud: mcp.resource, client_id: provider.info!.client_id, scope: SCOPE, sub: WORKLOAD, act: { sub: `spiffe://${TRUST_DOMAIN}/user/alice` } });
    for (const claim of ["iat", "exp", "jti"]) expect(payload[claim]).toBeDefined();

    // The resource server accepts it.
    const ok = await fetch(mcp.resource, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(ok.status).toBe(200);

    // Refresh: auth() with saved tokens and no code refreshes (rotation: a new refresh token).
    const before = tokens;
    expect(await auth(provider, { serverUrl: mcp.resource, resourceMetadataUrl })).toBe("AUTHORIZED");
    const after = provider.saved!;
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.refresh_token).toBeTruthy();
    expect(after.refresh_token).not.toBe(before.refresh_token);
    const refreshed = await jwtVerify(after.access_token, jwks, { issuer, audience: mcp.resource, typ: "at+jwt" });
    expect(refreshed.payload).toMatchObject({ client_id: provider.info!.client_id, sub: WORKLOAD, scope: SCOPE });
    expect(decodeProtectedHeader(after.access_token).typ).toBe("at+jwt");
    // Nothing else went to the browser: one authorization.
    expect(provider.authorizationUrls).toHaveLength(1);

    // The code is single use: the SDK's second exchange of it fails, and the replay revokes what it issued (the refresh family).
    await expect(auth(provider, { serverUrl: mcp.resource, resourceMetadataUrl, authorizationCode: code })).rejects.toThrow(/already used/);
    const refresh = await fetch(`${issuer}/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: after.refresh_token!, client_id: provider.info!.client_id }),
    });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe("invalid_grant");
  });
});
