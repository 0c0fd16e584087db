/**
 * /oauth2/authorize and the pages over real HTTP (createHttpApp + the users routes, a real store in
 * a temp dir). Sessions are opened through the store as a passkey login would (the WebAuthn
 * ceremonies themselves are covered by test/browser/users.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { AuthorizationStep, PendingAuthorization, StepOutcome } from "../../../src/oauth/types.ts";
import { sessionsDb } from "../../../src/users/db.ts";
import { hashToken, randomToken } from "../../../src/users/secrets.ts";
import { Sessions } from "../../../src/users/sessions.ts";
import { Browser, hiddenField, RESOURCE, startUsersHarness, type UsersHarness } from "../../support/users/harness.ts";
import { pkce } from "../../support/users/oauth-parts.ts";

const REDIRECT = "http://127.0.0.1:4567/cb";

/** A step whose answer the test sets: proceed, deny, or redirect (then resume through the resumer). */
class ScriptedStep implements AuthorizationStep {
  readonly name = "scripted";
  next: StepOutcome = { kind: "proceed" };
  readonly seen: PendingAuthorization[] = [];
  async beforeCode(pending: PendingAuthorization): Promise<StepOutcome> {
    this.seen.push(pending);
    return this.next;
  }
}

let h: UsersHarness;
const step = new ScriptedStep();

beforeAll(async () => {
  h = await startUsersHarness({ steps: [step] });
  h.users.admin.add("alice", false);
  h.clients.register({ clientId: "bound", clientName: "<script>alert(1)</script>", redirectUris: [REDIRECT], spiffeId: "spiffe://example.org/claude", scope: "mcp:tools mcp:read" });
  h.clients.register({ clientId: "unbound", redirectUris: [REDIRECT, "https://app.example.com/cb"] });
  h.clients.register({ clientId: "prefix", redirectUris: [REDIRECT], spiffeId: "spiffe://example.org/agents/*" });
});
afterAll(() => h?.close());

function params(over: Record<string, string | undefined> = {}): string {
  const base: Record<string, string | undefined> = { response_type: "code", client_id: "bound", redirect_uri: REDIRECT, code_challenge: pkce().challenge, code_challenge_method: "S256", state: "xyz", resource: RESOURCE, scope: "mcp:tools", ...over };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(base)) if (v !== undefined) q.append(k, v);
  return q.toString();
}

async function signedIn(user = "alice"): Promise<Browser> {
  const b = new Browser(h.issuer);
  const { id } = await new Sessions(h.store, { idleSeconds: 600, absoluteSeconds: 3600 }).create(user, "test-passkey");
  b.jar.set("sluice-session", id);
  return b;
}

function errorRedirect(r: Response): URLSearchParams {
  expect(r.status).toBe(303);
  const location = new URL(r.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return location.searchParams;
}

describe("RFC 6749 §4.1.2.1: an invalid client or redirect URI is shown, never redirected to", () => {
  test.each([
    ["unknown client", { client_id: "nope" }, "no client nope"],
    ["missing client_id", { client_id: undefined }, "no client_id"],
    ["redirect_uri not registered", { redirect_uri: "https://evil.example/cb" }, "does not match"],
    ["redirect_uri differing in path", { redirect_uri: "http://127.0.0.1:4567/cb/x" }, "does not match"],
    ["redirect_uri missing with two registered", { client_id: "unbound", redirect_uri: undefined }, "redirect_uri is required"],
  ])("%s", async (_name, over, message) => {
    const r = await new Browser(h.issuer).get(`/oauth2/authorize?${params(over)}`);
    expect(r.status).toBe(400);
    expect(r.headers.get("location")).toBeNull();
    expect(await r.text()).toContain(message);
  });

  test("a loopback redirect URI may differ in port only (RFC 8252 §7.3)", async () => {
    const r = await new Browser(h.issuer).get(`/oauth2/authorize?${params({ redirect_uri: "http://127.0.0.1:9999/cb" })}`);
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toStartWith("/login?return_to=");
  });
});

describe("errors after the redirect URI is trusted go back to it with state and iss (RFC 9207 §2)", () => {
  test.each([
    ["response_type=token", { response_type: "token" }, "unsupported_response_type"],
    ["no response_type", { response_type: undefined }, "invalid_request"],
    ["no PKCE", { code_challenge: undefined }, "invalid_request"],
    ["PKCE plain", { code_challenge_method: "plain" }, "invalid_request"],
    ["PKCE method absent (means plain)", { code_challenge_method: undefined }, "invalid_request"],
    ["malformed challenge", { code_challenge: "short" }, "invalid_request"],
    ["no resource (required by MCP)", { resource: undefined }, "invalid_target"],
    ["resource sluice does not serve", { resource: "https://other.example.com" }, "invalid_target"],
    ["resource with a fragment", { resource: `${RESOURCE}#x` }, "invalid_target"],
    ["scope outside the client's", { scope: "admin" }, "invalid_scope"],
    ["response_mode fragment", { response_mode: "fragment" }, "invalid_request"],
  ])("%s", async (_name, over, error) => {
    const q = errorRedirect(await new Browser(h.issuer).get(`/oauth2/authorize?${params(over)}`));
    expect(q.get("error")).toBe(error);
    expect(q.get("error_description")).toBeTruthy();
    expect(q.get("state")).toBe("xyz");
    expect(q.get("iss")).toBe(h.issuer);
    expect(q.get("code")).toBeNull();
  });

  test("a repeated parameter is refused (RFC 6749 §3.1) without redirecting", async () => {
    const r = await new Browser(h.issuer).get(`/oauth2/authorize?${params()}&state=again`);
    expect(r.status).toBe(400);
    expect(r.headers.get("location")).toBeNull();
  });

  test("prompt=none without a session → login_required", async () => {
    const q = errorRedirect(await new Browser(h.issuer).get(`/oauth2/authorize?${params({ prompt: "none" })}`));
    expect(q.get("error")).toBe("login_required");
    expect(q.get("iss")).toBe(h.issuer);
  });
});

describe("login, consent, steps, code", () => {
  test("no session → the login page, coming back to the same request", async () => {
    const b = new Browser(h.issuer);
    const q = params();
    const r = await b.get(`/oauth2/authorize?${q}`);
    expect(r.headers.get("location")).toBe(`/login?return_to=${encodeURIComponent(`/oauth2/authorize?${q}`)}`);
    const login = await b.get(r.headers.get("location")!);
    expect(hiddenField(await login.text(), "return_to")).toBe(`/oauth2/authorize?${q}`.replaceAll("&", "&#38;"));
  });

  test("POST to /oauth2/authorize works like GET (RFC 6749 §3.1)", async () => {
    const b = await signedIn();
    const form = Object.fromEntries(new URLSearchParams(params()));
    const r = await b.post("/oauth2/authorize", form);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain("Allow access?");
  });

  test("consent page: names workload, user, resource, scopes; escapes everything; strict headers", async () => {
    const b = await signedIn();
    const r = await b.get(`/oauth2/authorize?${params()}`);
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain("spiffe://example.org/claude");
    expect(html).toContain("spiffe://example.org/user/alice");
    expect(html).toContain(RESOURCE);
    expect(html).toContain("mcp:tools");
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    const csp = r.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain("unsafe-inline");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("cache-control")).toBe("no-store");
  });

  test("an unbound client is shown as such", async () => {
    const b = await signedIn();
    const html = await (await b.get(`/oauth2/authorize?${params({ client_id: "unbound" })}`)).text();
    expect(html).toContain("unbound client");
  });

  test("consent POST: CSRF token and Origin are required", async () => {
    const b = await signedIn();
    const html = await (await b.get(`/oauth2/authorize?${params()}`)).text();
    const pending = hiddenField(html, "pending")!;
    const csrf = hiddenField(html, "csrf")!;
    const noToken = await b.post("/oauth2/authorize/consent", { pending, decision: "allow" });
    expect(noToken.status).toBe(403);
    const wrongToken = await b.post("/oauth2/authorize/consent", { pending, decision: "allow", csrf: csrf.slice(0, -2) + "AA" });
    expect(wrongToken.status).toBe(403);
    const crossSite = await b.post("/oauth2/authorize/consent", { pending, decision: "allow", csrf }, { origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    // Another user's session cannot answer with this token either.
    const mallory = await signedIn();
    mallory.jar.set("sluice-csrf", b.jar.get("sluice-csrf")!);
    expect((await mallory.post("/oauth2/authorize/consent", { pending, decision: "allow", csrf })).status).toBe(403);
    expect(h.codes.issued).toHaveLength(0);
    // Still pending: the real answer goes through.
    const ok = await b.post("/oauth2/authorize/consent", { pending, decision: "allow", csrf, remember: "1" });
    const q = errorRedirect(ok);
    expect(q.get("code")).toBeTruthy();
    expect(q.get("state")).toBe("xyz");
    expect(q.get("iss")).toBe(h.issuer);
    // Single use: answering again is refused.
    expect((await b.post("/oauth2/authorize/consent", { pending, decision: "allow", csrf })).status).toBe(400);
  });

  test("the code carries the grant: sub = bound workload, act = user; PKCE verified on redemption", async () => {
    const b = await signedIn();
    const { verifier, challenge } = pkce();
    // Remembered from the previous test: straight to the client.
    const q = errorRedirect(await b.get(`/oauth2/authorize?${params({ code_challenge: challenge, nonce: "n-1" })}`));
    const grant = h.codes.redeem(q.get("code")!, { clientId: "bound", redirectUri: REDIRECT, verifier });
    expect(grant).toMatchObject({ subject: "spiffe://example.org/claude", actor: "spiffe://example.org/user/alice", user: { name: "alice" }, resources: [RESOURCE], scopes: ["mcp:tools"], nonce: "n-1" });
    expect(() => h.codes.redeem(q.get("code")!, { clientId: "bound", redirectUri: REDIRECT, verifier })).toThrow();
  });

  test("consent is remembered per (client, user, resource, scopes) only", async () => {
    const b = await signedIn();
    const wider = await b.get(`/oauth2/authorize?${params({ scope: "mcp:tools mcp:read" })}`);
    expect(wider.status).toBe(200);
    expect(await wider.text()).toContain("Allow access?");
    // prompt=none where consent is missing → consent_required
    const q = errorRedirect(await b.get(`/oauth2/authorize?${params({ scope: "mcp:read", prompt: "none" })}`));
    expect(q.get("error")).toBe("consent_required");
  });

  test("revoking the consent brings the consent screen back", async () => {
    const [consent] = h.users.admin.consents("alice");
    h.users.admin.removeConsent("alice", consent!.id);
    const r = await (await signedIn()).get(`/oauth2/authorize?${params()}`);
    expect(r.status).toBe(200);
  });

  test("deny at consent → access_denied with state and iss", async () => {
    const b = await signedIn();
    const html = await (await b.get(`/oauth2/authorize?${params({ client_id: "unbound", state: "s2" })}`)).text();
    const q = errorRedirect(await b.post("/oauth2/authorize/consent", { pending: hiddenField(html, "pending")!, decision: "deny", csrf: hiddenField(html, "csrf")! }));
    expect(q.get("error")).toBe("access_denied");
    expect(q.get("state")).toBe("s2");
    expect(q.get("iss")).toBe(h.issuer);
  });

  test("unbound and /* prefix clients: the token subject is the user, no actor", async () => {
    for (const clientId of ["unbound", "prefix"]) {
      const b = await signedIn();
      const { verifier, challenge } = pkce();
      const html = await (await b.get(`/oauth2/authorize?${params({ client_id: clientId, code_challenge: challenge })}`)).text();
      const q = errorRedirect(await b.post("/oauth2/authorize/consent", { pending: hiddenField(html, "pending")!, decision: "allow", csrf: hiddenField(html, "csrf")! }));
      const grant = h.codes.redeem(q.get("code")!, { clientId, redirectUri: REDIRECT, verifier });
      expect(grant.subject).toBe("spiffe://example.org/user/alice");
      expect(grant.actor).toBeUndefined();
    }
  });

  test("a step that denies → an error page that carries the error response on to the client", async () => {
    step.next = { kind: "deny", error: "access_denied", description: "no upstream credential for you" };
    try {
      const b = await signedIn();
      const r = await b.get(`/oauth2/authorize?${params()}`); // consent was revoked above: the page asks again
      const html = await r.text();
      const answer = await b.post("/oauth2/authorize/consent", { pending: hiddenField(html, "pending")!, decision: "allow", csrf: hiddenField(html, "csrf")!, remember: "1" });
      expect(answer.status).toBe(403);
      const page = await answer.text();
      expect(page).toContain("no upstream credential for you");
      const refresh = answer.headers.get("refresh")!;
      const target = new URL(refresh.slice(refresh.indexOf("url=") + 4));
      expect(target.searchParams.get("error")).toBe("access_denied");
      expect(target.searchParams.get("iss")).toBe(h.issuer);
      expect(target.searchParams.get("state")).toBe("xyz");
    } finally {
      step.next = { kind: "proceed" };
    }
  });

  test("a step that redirects: the pending authorization resumes once, at the next step", async () => {
    step.next = { kind: "redirect", location: "http://127.0.0.1:4999/upstream" };
    const before = step.seen.length;
    try {
      const b = await signedIn();
      const r = await b.get(`/oauth2/authorize?${params()}`);
      expect(r.status).toBe(303);
      expect(r.headers.get("location")).toBe("http://127.0.0.1:4999/upstream");
      const pending = step.seen.at(-1)!;
      expect(h.users.resumer.pending(pending.id)).toMatchObject({ client: { clientId: "bound" }, user: { name: "alice" }, redirectUri: REDIRECT, state: "xyz" });
      const resumed = await h.users.resumer.resume(pending.id);
      expect(errorRedirect(resumed).get("code")).toBeTruthy();
      expect(step.seen.length).toBe(before + 1); // not run again
      expect((await h.users.resumer.resume(pending.id)).status).toBe(400);
      expect(h.users.resumer.pending(pending.id)).toBeUndefined();
    } finally {
      step.next = { kind: "proceed" };
    }
  });

  test("resumer.fail ends a pending authorization with an error response", async () => {
    step.next = { kind: "redirect", location: "http://127.0.0.1:4999/upstream" };
    try {
      await (await signedIn()).get(`/oauth2/authorize?${params()}`);
      const r = await h.users.resumer.fail(step.seen.at(-1)!.id, "temporarily_unavailable", "upstream is down");
      expect(r.status).toBe(403);
      expect(r.headers.get("refresh")).toContain("error=temporarily_unavailable");
    } finally {
      step.next = { kind: "proceed" };
    }
  });
});

describe("resumer.sessionUser: whose browser presents a step's callback (RFC 9700 §4.7)", () => {
  const callback = (cookie?: string) => new Request(`${h.issuer}/oauth2/upstream/callback?state=s&code=c`, { headers: cookie ? { cookie } : {} });

  test("the user of a live session; nothing for no, malformed, unknown, ended or expired sessions", async () => {
    const sessions = new Sessions(h.store, { idleSeconds: 600, absoluteSeconds: 3600 });
    const { id, key } = await sessions.create("alice", "test-passkey");
    expect(h.users.resumer.sessionUser(callback(`other=1; sluice-session=${id}`))).toEqual(h.users.directory.get("alice")!);
    expect(h.users.resumer.sessionUser(callback())).toBeUndefined();
    expect(h.users.resumer.sessionUser(callback("sluice-session=not a session"))).toBeUndefined();
    expect(h.users.resumer.sessionUser(callback(`sluice-session=${randomToken(32)}`))).toBeUndefined();
    // Another cookie's value is no session.
    expect(h.users.resumer.sessionUser(callback(`sluice-csrf=${id}`))).toBeUndefined();
    await sessions.destroy(key);
    expect(h.users.resumer.sessionUser(callback(`sluice-session=${id}`))).toBeUndefined();

    const idle = randomToken(32);
    const now = Math.floor(Date.now() / 1000);
    h.store.db(sessionsDb).putSync(hashToken(idle), { user: "alice", passkey: "p", authTime: now - 3600, lastSeenAt: now - 1801 });
    expect(h.users.resumer.sessionUser(callback(`sluice-session=${idle}`))).toBeUndefined();
  });

  test("a removed user's session belongs to nobody", async () => {
    h.users.admin.add("dora", false);
    const { id } = await new Sessions(h.store, { idleSeconds: 600, absoluteSeconds: 3600 }).create("dora", "test-passkey");
    expect(h.users.resumer.sessionUser(callback(`sluice-session=${id}`))?.name).toBe("dora");
    h.users.admin.remove("dora");
    expect(h.users.resumer.sessionUser(callback(`sluice-session=${id}`))).toBeUndefined();
  });
});

describe("pages: sessions, CSRF, limits", () => {
  test("logout is a POST with CSRF; afterwards the session is gone", async () => {
    const b = await signedIn();
    const account = await b.get("/account");
    expect(account.status).toBe(200);
    const csrf = hiddenField(await account.text(), "csrf")!;
    expect((await b.post("/logout", {})).status).toBe(403);
    expect((await b.get("/account")).status).toBe(200);
    const out = await b.post("/logout", { csrf });
    expect(out.status).toBe(200);
    expect(b.jar.has("sluice-session")).toBe(false);
    expect((await b.get("/account")).headers.get("location")).toBe("/login?return_to=%2Faccount");
  });

  test("idle and absolute timeouts (users.sessionIdle 30m, users.sessionAbsolute 12h) end a session", async () => {
    const now = Math.floor(Date.now() / 1000);
    const db = h.store.db(sessionsDb);
    for (const [authTime, lastSeenAt] of [
      [now - 3600, now - 1801], // idle too long
      [now - 12 * 3600 - 1, now], // active, but older than the absolute limit
    ] as const) {
      const id = randomToken(32);
      db.putSync(hashToken(id), { user: "alice", passkey: "p", authTime, lastSeenAt });
      const b = new Browser(h.issuer);
      b.jar.set("sluice-session", id);
      expect((await b.get("/account")).headers.get("location")).toBe("/login?return_to=%2Faccount");
      expect(b.jar.has("sluice-session")).toBe(false);
    }
    const fresh = randomToken(32);
    db.putSync(hashToken(fresh), { user: "alice", passkey: "p", authTime: now - 3600, lastSeenAt: now - 60 });
    const b = new Browser(h.issuer);
    b.jar.set("sluice-session", fresh);
    expect((await b.get("/account")).status).toBe(200);
  });

  test("login POST without CSRF or from another origin is refused", async () => {
    const b = new Browser(h.issuer);
    const page = await (await b.get("/login")).text();
    const csrf = hiddenField(page, "csrf")!;
    expect((await b.post("/login/options", {})).status).toBe(403);
    expect((await b.post("/login/options", { csrf }, { origin: "http://localhost.evil.example" })).status).toBe(403);
    const ok = await b.post("/login/options", { csrf });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { ceremony: string; options: { rpId: string; userVerification: string; allowCredentials?: unknown[] } };
    expect(body.options).toMatchObject({ rpId: "localhost", userVerification: "required" });
    expect(body.options.allowCredentials ?? []).toEqual([]);
    // A made-up credential is refused with a clear message, no session.
    const fail = await b.post("/login", { csrf, ceremony: body.ceremony, credential: JSON.stringify({ id: "AAAA", rawId: "AAAA", type: "public-key", response: {} }) });
    expect(fail.status).toBe(401);
    expect(b.jar.has("sluice-session")).toBe(false);
  });

  test("oversized bodies and queries are refused", async () => {
    const b = new Browser(h.issuer);
    const csrf = hiddenField(await (await b.get("/login")).text(), "csrf")!;
    expect((await b.post("/login", { csrf, credential: "x".repeat(70_000) })).status).toBe(413);
    expect((await b.get(`/oauth2/authorize?${params({ state: "s".repeat(9000) })}`)).status).toBe(414);
  });

  test("login attempts are rate limited per address", async () => {
    const b = new Browser(h.issuer);
    const csrf = hiddenField(await (await b.get("/login")).text(), "csrf")!;
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await b.post("/login/options", { csrf })).status);
    expect(statuses).toContain(429);
  });

  test("enrollment: unknown or malformed tokens get a 404 page", async () => {
    const b = new Browser(h.issuer);
    expect((await b.get("/enroll/nope")).status).toBe(404);
    expect((await b.get(`/enroll/${"A".repeat(43)}`)).status).toBe(404);
  });

  test("account: removing your last passkey is refused; account POSTs need a session", async () => {
    const b = await signedIn();
    const csrf = hiddenField(await (await b.get("/account")).text(), "csrf")!;
    const last = await b.post("/account/passkeys/remove", { csrf, id: "test-passkey" });
    expect(last.status).toBe(409);
    const anonymous = new Browser(h.issuer);
    const token = hiddenField(await (await anonymous.get("/login")).text(), "csrf")!;
    const options = await anonymous.post("/account/passkeys/options", { csrf: token });
    expect(options.status).toBe(401);
    expect(((await options.json()) as { message: string }).message).toContain("not signed in");
  });

  test("return_to never leaves sluice", async () => {
    const b = await signedIn();
    expect((await b.get("/login?return_to=https://evil.example/")).headers.get("location")).toBe("/account");
    expect((await b.get("/login?return_to=//evil.example/")).headers.get("location")).toBe("/account");
    expect((await b.get("/login?return_to=%2Foauth2%2Fauthorize%3Fa%0D%0ASet-Cookie:x=1")).headers.get("location")).toBe("/account");
  });
});
