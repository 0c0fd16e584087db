/**
 * Passkeys, sessions, consent and /oauth2/authorize in a real browser: headless Chromium through
 * playwright-core with CDP virtual authenticators (ctap2, internal, resident keys, user
 * verification). The issuer is http://localhost:<port> (WebAuthn rejects IP addresses as RP IDs).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import type { AuthorizationStep, PendingAuthorization } from "../../src/oauth/types.ts";
import { RESOURCE, startUsersHarness, type UsersHarness } from "../support/users/harness.ts";
import { pkce } from "../support/users/oauth-parts.ts";

const CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A real AuthorizationStep like the broker's: sends the browser to a loopback page that resumes the flow. */
class LoopbackStep implements AuthorizationStep {
  readonly name = "loopback-upstream";
  readonly seen: PendingAuthorization[] = [];
  url = "";
  async beforeCode(pending: PendingAuthorization) {
    this.seen.push(pending);
    return { kind: "redirect", location: `${this.url}/upstream?pending=${encodeURIComponent(pending.id)}` } as const;
  }
}

setDefaultTimeout(20_000);

let h: UsersHarness;
let browser: Browser;
const step = new LoopbackStep();
const servers: { stop(force?: boolean): unknown }[] = [];
const callbacks: URL[] = [];
let clientRedirect = "";

beforeAll(async () => {
  // Every sign-in here comes from 127.0.0.1: a limit above the suite's own attempts (the default one is tested in test/integration/users).
  h = await startUsersHarness({ steps: [step], attemptLimit: { ratePerSecond: 10, burst: 100 } });
  // The step's "upstream" page: it finishes the flow through the resumer, like /oauth2/upstream/callback will.
  const upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => {
      const id = new URL(req.url).searchParams.get("pending") ?? "";
      if (!h.users.resumer.pending(id)) return new Response("unknown pending authorization", { status: 400 });
      return h.users.resumer.resume(id);
    },
  });
  step.url = `http://127.0.0.1:${upstream.port}`;
  // The agent's loopback redirect URI (RFC 8252 §7.3).
  const client = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/callback") callbacks.push(url);
      return new Response("<p>done</p>", { headers: { "content-type": "text/html" } });
    },
  });
  servers.push(upstream, client);
  clientRedirect = `http://127.0.0.1:${client.port}/callback`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  for (const s of servers) s.stop(true);
  await h?.close();
});

async function withAuthenticator(context: BrowserContext, options: { isUserVerified?: boolean } = {}): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: options.isUserVerified ?? true, automaticPresenceSimulation: true },
  });
  return { page, cdp, authenticatorId };
}

async function credentials(cdp: CDPSession, authenticatorId: string) {
  return (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
}

function authorizeUrl(state: string, challenge: string, clientId = "agent"): string {
  const q = new URLSearchParams({ response_type: "code", client_id: clientId, redirect_uri: clientRedirect, code_challenge: challenge, code_challenge_method: "S256", state, resource: RESOURCE, scope: "mcp:tools" });
  return `${h.issuer}/oauth2/authorize?${q}`;
}

describe("passkeys in Chromium", () => {
  let alice: { context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string };
  let secondContext: { context: BrowserContext; page: Page; cdp: CDPSession; authenticatorId: string };

  test("enrollment link registers a passkey (resident key, UV) and signs the user in", async () => {
    const link = h.users.admin.add("alice", false, "Alice");
    const context = await browser.newContext();
    alice = { context, ...(await withAuthenticator(context)) };
    await alice.page.goto(link.url);
    await alice.page.getByRole("button", { name: "Create passkey" }).click();
    await alice.page.waitForURL(/\/account\?enrolled=1$/);
    expect(await alice.page.textContent("body")).toContain("spiffe://example.org/user/alice");
    const creds = await credentials(alice.cdp, alice.authenticatorId);
    expect(creds).toHaveLength(1);
    expect(creds[0]!.isResidentCredential).toBe(true);
    expect(h.users.admin.passkeys("alice").map((p) => p.id)).toEqual([creds[0]!.credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")]);
    const session = (await context.cookies()).find((c) => c.name === "sluice-session")!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false, path: "/" });
    // Single use: the link is spent.
    const again = await alice.page.goto(link.url);
    expect(again!.status()).toBe(404);
  });

  test("logout (POST) ends the session; login by discoverable passkey starts a new one", async () => {
    await alice.page.goto(`${h.issuer}/account`);
    await alice.page.getByRole("button", { name: "Sign out" }).click();
    await alice.page.waitForSelector("text=You are signed out");
    const gone = await alice.page.goto(`${h.issuer}/account`);
    expect(gone!.url()).toContain("/login?return_to=%2Faccount");
    await alice.page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await alice.page.waitForURL(/\/account$/);
    expect(await alice.page.textContent("h1")).toBe("Alice");
  });

  test("a second passkey on another authenticator; both sign in", async () => {
    const context = await browser.newContext();
    await context.addCookies(await alice.context.cookies());
    secondContext = { context, ...(await withAuthenticator(context)) };
    await secondContext.page.goto(`${h.issuer}/account`);
    await secondContext.page.getByRole("button", { name: "Add a passkey" }).click();
    await secondContext.page.waitForURL(/\/account\?added=1$/);
    expect(h.users.admin.passkeys("alice")).toHaveLength(2);
    await context.clearCookies();
    await secondContext.page.goto(`${h.issuer}/login`);
    await secondContext.page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await secondContext.page.waitForURL(/\/account$/);
  });

  test("a removed passkey no longer signs in", async () => {
    const [first] = await credentials(alice.cdp, alice.authenticatorId);
    const id = first!.credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    h.users.admin.removePasskey("alice", id);
    // Its session ended with it.
    const page = alice.page;
    await page.goto(`${h.issuer}/account`);
    expect(page.url()).toContain("/login");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForSelector("text=Sign-in failed");
    expect(await page.textContent("body")).toContain("not registered here");
    expect((await alice.context.cookies()).some((c) => c.name === "sluice-session")).toBe(false);
  });

  test("user verification off → refused, by the browser and, when the options are tampered with, by sluice", async () => {
    const context = await browser.newContext();
    const noUv = await withAuthenticator(context, { isUserVerified: false });
    // The same (still registered) credential as the second passkey, on an authenticator that does not verify the user.
    const [cred] = await credentials(secondContext.cdp, secondContext.authenticatorId);
    await noUv.cdp.send("WebAuthn.addCredential", { authenticatorId: noUv.authenticatorId, credential: cred! });
    const page = noUv.page;
    const signIn = page.getByRole("button", { name: "Sign in with a passkey" });
    await page.goto(`${h.issuer}/login`);
    await signIn.click();
    // sluice asks for userVerification "required": Chromium refuses before anything reaches sluice.
    await page.locator("[data-error]:not(:empty)").waitFor();
    expect(await page.textContent("[data-error]")).toContain("cancelled or timed out");

    // A page that lowered the requirement (here: the options rewritten in flight) still gets no session: sluice checks the UV flag itself.
    await page.route("**/options", async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      if (body.options.authenticatorSelection) body.options.authenticatorSelection.userVerification = "discouraged";
      else body.options.userVerification = "discouraged";
      await route.fulfill({ response, json: body });
    });
    await page.goto(`${h.issuer}/login`);
    await signIn.click();
    await page.getByText("Sign-in failed").or(page.locator("[data-error]:not(:empty)")).first().waitFor();
    expect(await page.textContent("[role=alert]")).toMatch(/user could not be verified|did not verify the user/i);
    expect((await context.cookies()).some((c) => c.name === "sluice-session")).toBe(false);

    const link = h.users.admin.add("carol", false);
    await page.goto(link.url);
    await page.getByRole("button", { name: "Create passkey" }).click();
    // Whichever refuses first (Chromium's virtual authenticator will not make a resident key without UV, or sluice), no passkey is stored.
    await page.locator("[data-error]:not(:empty)").or(page.getByText("could not be verified")).first().waitFor();
    expect(h.users.admin.passkeys("carol")).toHaveLength(0);
    await context.close();
  });

  test("a cloned authenticator whose signature counter went backwards is refused", async () => {
    const context = await browser.newContext();
    const clone = await withAuthenticator(context);
    const [cred] = await credentials(secondContext.cdp, secondContext.authenticatorId);
    expect(cred!.signCount).toBeGreaterThan(1);
    await clone.cdp.send("WebAuthn.addCredential", { authenticatorId: clone.authenticatorId, credential: { ...cred!, signCount: 0 } });
    await clone.page.goto(`${h.issuer}/login`);
    await clone.page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await clone.page.getByText("Sign-in failed").waitFor();
    expect(await clone.page.textContent("[role=alert]")).toContain("counter");
    expect((await context.cookies()).some((c) => c.name === "sluice-session")).toBe(false);
    await context.close();
  });

  test("authorize round trip: login, consent naming workload/user/resource/scopes, the step's redirect and resume, code + state + iss at the loopback redirect_uri", async () => {
    h.clients.register({ clientId: "agent", clientName: "Claude", redirectUris: ["http://127.0.0.1/callback"], spiffeId: "spiffe://example.org/claude" });
    const { page, context } = secondContext;
    await context.clearCookies();
    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl("st-1", challenge));
    // Not signed in → login first, then back to the request.
    expect(page.url()).toContain("/login?return_to=");
    await page.getByRole("button", { name: "Sign in with a passkey" }).click();
    await page.waitForSelector("text=Allow access?");
    const consent = await page.textContent("dl");
    for (const expected of ["spiffe://example.org/claude", "Claude", "spiffe://example.org/user/alice", RESOURCE, "mcp:tools", "127.0.0.1"]) expect(consent).toContain(expected);
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL(/\/callback\?/);
    const cb = callbacks.at(-1)!;
    expect(cb.searchParams.get("state")).toBe("st-1");
    expect(cb.searchParams.get("iss")).toBe(h.issuer);
    expect(step.seen.at(-1)).toMatchObject({ user: { name: "alice" }, workload: "spiffe://example.org/claude", resources: [RESOURCE], scopes: ["mcp:tools"] });
    const grant = h.codes.redeem(cb.searchParams.get("code")!, { clientId: "agent", redirectUri: clientRedirect, verifier });
    expect(grant).toMatchObject({ subject: "spiffe://example.org/claude", actor: "spiffe://example.org/user/alice", resources: [RESOURCE], scopes: ["mcp:tools"] });

    // Consent remembered: the second request goes straight through the step to the client.
    const second = pkce();
    await page.goto(authorizeUrl("st-2", second.challenge));
    await page.waitForURL(/state=st-2/);
    expect(callbacks.at(-1)!.searchParams.get("code")).toBeTruthy();
    expect(step.seen).toHaveLength(2);
  });

  test("without JavaScript: consent, account and logout still work (forms post); the passkey button says why it cannot", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    await context.addCookies(await secondContext.context.cookies());
    const page = await context.newPage();
    h.users.admin.removeConsent("alice", "agent");
    const { challenge } = pkce();
    await page.goto(authorizeUrl("st-nojs", challenge));
    await page.getByRole("button", { name: "Allow" }).click();
    await page.waitForURL(/state=st-nojs/);
    expect(callbacks.at(-1)!.searchParams.get("iss")).toBe(h.issuer);
    await page.goto(`${h.issuer}/account`);
    expect(await page.getByRole("button", { name: "Add a passkey" }).isDisabled()).toBe(true);
    expect(await page.locator("noscript").count()).toBe(1);
    await page.getByRole("button", { name: "Revoke" }).click();
    await page.waitForURL(/revoked=1/);
    expect(h.users.admin.consents("alice")).toHaveLength(0);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You are signed out").waitFor();
    await context.close();
  });
});
