/**
 * The users part with the real token side and the real client registry (no in-memory stand-ins):
 * oauth4webapi discovers sluice, registers a client (RFC 7591), the authorization request goes
 * through /oauth2/authorize (session, consent with its CSRF token), and oauth4webapi validates the
 * RFC 9207 `iss` of the response and exchanges the code with PKCE for an RFC 9068 access token.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { AuditLog } from "../../../src/audit/index.ts";
import { resolveConfig } from "../../../src/config/index.ts";
import { silentLogger } from "../../../src/log/index.ts";
import { createClientRegistry, startOAuth } from "../../../src/oauth/index.ts";
import { loadPolicyDir } from "../../../src/policy/index.ts";
import { createHttpApp } from "../../../src/server/http.ts";
import { openTrustDomainCA } from "../../../src/spiffe/index.ts";
import { openStore } from "../../../src/store/index.ts";
import { startUsers, userDirectory } from "../../../src/users/index.ts";
import { Sessions } from "../../../src/users/sessions.ts";
import { Browser, hiddenField } from "../../support/users/harness.ts";

const RESOURCE = "https://mcp.example.test/mcp";
const REDIRECT = "http://127.0.0.1:7777/callback";
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const cleanups: (() => unknown)[] = [];
let issuer = "";
let sessions: Sessions;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), "sluice-users-full-"));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const store = await openStore({ dataDir: join(root, "data") });
  cleanups.push(() => store.close());
  const audit = await AuditLog.open(store, { mirrorPath: null });
  cleanups.push(() => audit.close());
  const ca = openTrustDomainCA({ store, trustDomain: "example.org", logger: silentLogger });
  cleanups.push(() => ca.close());
  mkdirSync(join(root, "policies"));
  writeFileSync(join(root, "policies", "mcp.yaml"), "apiVersion: sluice/v1alpha1\nkind: Service\nmetadata: {name: mcp}\nspec:\n  addresses: [{address: mcp.example.test, port: 443}]\n");
  const loaded = await loadPolicyDir(join(root, "policies"), { trustDomain: "example.org" });
  const snapshot = loaded.snapshot!;
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  issuer = `http://localhost:${port}`;
  const config = resolveConfig([{ origin: "flag", raw: { trustDomain: "example.org", issuer, dataDir: join(root, "data") } }]).config;

  // The order `sluice serve` needs: directory → clients → token side → users (which needs codes and resources).
  const directory = userDirectory(config, store);
  const clients = await createClientRegistry({ config, store, audit, ca, logger: silentLogger });
  cleanups.push(() => clients.stop());
  const as = await startOAuth({ config, store, audit, policy: { current: () => snapshot }, ca, clients: clients.registry, users: directory, logger: silentLogger });
  cleanups.push(() => as.stop());
  const users = await startUsers({ config, store, audit, clients: clients.registry, codes: as.codes, resources: as.resources, logger: silentLogger });
  cleanups.push(() => users.stop());
  const app = createHttpApp({ logger: silentLogger, modules: [...clients.routes, ...as.routes, ...users.routes] });
  app.listen({ hostname: "127.0.0.1", port });
  cleanups.push(() => app.stop(true));
  users.admin.add("alice", false);
  sessions = new Sessions(store, { idleSeconds: 600, absoluteSeconds: 3600 });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("users + real token side + real client registry", () => {
  test("discovery, DCR, authorize with consent, iss validated, code exchanged with PKCE", async () => {
    const url = new URL(issuer);
    const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: "oauth2", ...insecure }));
    expect(as.authorization_endpoint).toBe(`${issuer}/oauth2/authorize`);
    const registered = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], client_name: "test agent" }, insecure),
    );
    const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: "none" };

    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const authorizeUrl = new URL(as.authorization_endpoint!);
    for (const [k, v] of Object.entries({ response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256", state, resource: RESOURCE, scope: "files:read" })) authorizeUrl.searchParams.set(k, v);

    const browser = new Browser(issuer);
    browser.jar.set("sluice-session", (await sessions.create("alice", "p")).id);
    const consent = await browser.get(authorizeUrl.pathname + authorizeUrl.search);
    expect(consent.status).toBe(200);
    const html = await consent.text();
    expect(html).toContain("test agent");
    const answer = await browser.post("/oauth2/authorize/consent", { pending: hiddenField(html, "pending")!, csrf: hiddenField(html, "csrf")!, decision: "allow" });
    expect(answer.status).toBe(303);
    const callback = new URL(answer.headers.get("location")!);

    const params = oauth.validateAuthResponse(as, client, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, verifier, { additionalParameters: { resource: RESOURCE }, ...insecure }),
    );
    const at = decodeJwt(tokens.access_token);
    expect(at).toMatchObject({ iss: issuer, sub: "spiffe://example.org/user/alice", aud: RESOURCE, client_id: client.client_id, scope: "files:read" });
    expect(at.act).toBeUndefined();

    // A bad `resource` comes back as invalid_target with iss, which oauth4webapi accepts as an authorization error.
    authorizeUrl.searchParams.set("resource", "https://not-a-service.example");
    const refused = await browser.get(authorizeUrl.pathname + authorizeUrl.search);
    const errorCallback = new URL(refused.headers.get("location")!);
    expect(() => oauth.validateAuthResponse(as, client, errorCallback, state)).toThrow(expect.objectContaining({ error: "invalid_target" }));
  });
});
