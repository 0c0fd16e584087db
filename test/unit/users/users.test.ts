import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeySync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../../src/store/index.ts";
import { UserAccounts } from "../../../src/users/accounts.ts";
import { codeSubject } from "../../../src/users/authorize/flow.ts";
import { consentKey, Consents } from "../../../src/users/consents.ts";
import { cookiePolicy, readCookies, setCookie } from "../../../src/users/cookies.ts";
import { Csrf } from "../../../src/users/csrf.ts";
import { enrollmentsDb, sessionsDb } from "../../../src/users/db.ts";
import { Enrollments } from "../../../src/users/enrollments.ts";
import { userSpiffeId, validateUserName } from "../../../src/users/names.ts";
import { escapeHtml, html } from "../../../src/users/pages/html.ts";
import { relyingParty } from "../../../src/users/passkeys.ts";
import { hashToken } from "../../../src/users/secrets.ts";
import { Sessions } from "../../../src/users/sessions.ts";

let root: string;
let store: Store;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "sluice-users-unit-"));
  store = await openStore({ dataDir: join(root, "data") });
});
afterAll(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

describe("user names and SPIFFE IDs", () => {
  test.each(["alice", "bob.smith", "a", "x-1_y", "0day", "a".repeat(64)])("accepts %s", (name) => {
    expect(validateUserName(name)).toBe(name);
  });
  test.each(["", "Alice", "al ice", "a/b", "..", ".", "-x", "_x", "é", "a".repeat(65), "a%2Fb", "alice\n"])("refuses %j", (name) => {
    expect(() => validateUserName(name)).toThrow(expect.objectContaining({ code: "ERR_USER_NAME" }));
  });
  test("the template gives a valid SPIFFE ID; a template giving an invalid one is refused", () => {
    expect(userSpiffeId("spiffe://{trustDomain}/user/{name}", "acme.corp", "alice")).toBe("spiffe://acme.corp/user/alice");
    expect(userSpiffeId("spiffe://{trustDomain}/humans/{name}/main", "acme.corp", "bob.smith")).toBe("spiffe://acme.corp/humans/bob.smith/main");
    expect(() => userSpiffeId("spiffe://{trustDomain}/user//{name}", "acme.corp", "alice")).toThrow(/not a SPIFFE ID/);
  });
});

describe("accounts and enrollments", () => {
  test("add, duplicate, bySpiffeId, remove cascades", () => {
    const accounts = new UserAccounts(store, { trustDomain: "example.org", spiffeIdTemplate: "spiffe://{trustDomain}/user/{name}" });
    accounts.add("erin", { admin: true });
    expect(() => accounts.add("erin")).toThrow(/already exists/);
    expect(accounts.bySpiffeId("spiffe://example.org/user/erin")).toEqual({ name: "erin", spiffeId: "spiffe://example.org/user/erin", admin: true });
    accounts.addPasskey({ id: "cred-1", user: "erin", publicKey: new Uint8Array([1]), counter: 0, aaguid: "x", backedUp: false, createdAt: 1 });
    expect(() => accounts.addPasskey({ id: "cred-1", user: "erin", publicKey: new Uint8Array([1]), counter: 0, aaguid: "x", backedUp: false, createdAt: 1 })).toThrow(/already registered/);
    // Counter updates are compare-and-set.
    expect(accounts.recordPasskeyUse("cred-1", 0, 5)).toBe(true);
    expect(accounts.recordPasskeyUse("cred-1", 0, 6)).toBe(false);
    expect(accounts.passkey("cred-1")!.counter).toBe(5);
    expect(accounts.remove("erin")).toBe(true);
    expect(accounts.passkey("cred-1")).toBeUndefined();
    expect(accounts.remove("erin")).toBe(false);
  });

  test("enrollment tokens: only the hash stored, single use, expiry", () => {
    const accounts = new UserAccounts(store, { trustDomain: "example.org", spiffeIdTemplate: "spiffe://{trustDomain}/user/{name}" });
    accounts.add("frank");
    const enrollments = new Enrollments(store, 900);
    const { token } = enrollments.create("frank");
    const raw = JSON.stringify([...store.db(enrollmentsDb).getRange()]);
    expect(raw).not.toContain(token);
    expect(enrollments.peek(token)?.user).toBe("frank");
    expect(enrollments.consume(token)?.user).toBe("frank");
    expect(enrollments.consume(token)).toBeUndefined();
    expect(enrollments.peek(token)).toBeUndefined();
    const expired = new Enrollments(store, 0).create("frank");
    expect(enrollments.peek(expired.token)).toBeUndefined();
    expect(enrollments.consume(expired.token)).toBeUndefined();
    expect(() => enrollments.create("nobody")).toThrow(/no user nobody/);
  });
});

describe("sessions", () => {
  test("only the hash of the id is stored; idle and absolute timeouts", async () => {
    const sessions = new Sessions(store, { idleSeconds: 1800, absoluteSeconds: 43200 });
    const { id, key } = await sessions.create("alice", "p");
    expect(key).toBe(hashToken(id));
    const db = store.db(sessionsDb);
    expect(db.get(id)).toBeUndefined();
    expect(sessions.lookup(id)?.record.user).toBe("alice");
    expect(sessions.lookup("not-a-session")).toBeUndefined();
    const now = Math.floor(Date.now() / 1000);
    expect(sessions.expired({ user: "a", passkey: "p", authTime: now - 100, lastSeenAt: now - 1800 }, now)).toBe(true);
    expect(sessions.expired({ user: "a", passkey: "p", authTime: now - 43200, lastSeenAt: now }, now)).toBe(true);
    expect(sessions.expired({ user: "a", passkey: "p", authTime: now - 43199, lastSeenAt: now - 1799 }, now)).toBe(false);
    await sessions.destroy(key);
    expect(sessions.lookup(id)).toBeUndefined();
  });
});

describe("cookies", () => {
  test("https issuer: __Host- prefix and Secure; loopback http: neither", () => {
    const secure = cookiePolicy("https://sluice.example.com");
    expect(secure.names.session).toBe("__Host-sluice-session");
    expect(setCookie(secure, secure.names.session, "v", 60)).toBe("__Host-sluice-session=v; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60");
    const local = cookiePolicy("http://localhost:8443");
    expect(local.names.session).toBe("sluice-session");
    expect(setCookie(local, local.names.csrf, "v")).toBe("sluice-csrf=v; Path=/; HttpOnly; SameSite=Lax");
  });
  test("parsing keeps the first of a repeated name", () => {
    expect(readCookies("a=1; b=2; a=3").get("a")).toBe("1");
    expect(readCookies("x".repeat(9000)).size).toBe(0);
  });
});

describe("CSRF", () => {
  const csrf = new Csrf(generateKeySync("hmac", { length: 256 }), "https://sluice.example.com");
  const ok = { cookie: "c".repeat(32), sessionKey: "s1", origin: "https://sluice.example.com", referer: null };
  test("a token is bound to the browser cookie and the session", () => {
    const token = csrf.token(ok.cookie, "s1");
    expect(csrf.check({ ...ok, token })).toBeUndefined();
    expect(csrf.check({ ...ok, token, sessionKey: "s2" })).toMatch(/invalid/);
    expect(csrf.check({ ...ok, token, sessionKey: undefined })).toMatch(/invalid/);
    expect(csrf.check({ ...ok, token, cookie: "d".repeat(32) })).toMatch(/invalid/);
    expect(csrf.check({ ...ok, token: null })).toMatch(/missing/);
    expect(csrf.check({ ...ok, token, cookie: undefined })).toMatch(/missing/);
  });
  test("Origin, else Referer, must be the issuer's origin when present", () => {
    const token = csrf.token(ok.cookie, "s1");
    expect(csrf.check({ ...ok, token, origin: "https://evil.example" })).toMatch(/cross-origin/);
    expect(csrf.check({ ...ok, token, origin: "null" })).toMatch(/cross-origin/);
    expect(csrf.check({ ...ok, token, origin: null, referer: "https://evil.example/x" })).toMatch(/cross-origin/);
    expect(csrf.check({ ...ok, token, origin: null, referer: "https://sluice.example.com/login" })).toBeUndefined();
    expect(csrf.check({ ...ok, token, origin: null })).toBeUndefined();
  });
});

describe("consent memory", () => {
  test("exact (client, user, resources, scopes), order-insensitive; revocation", async () => {
    const consents = new Consents(store);
    expect(consentKey(["r2", "r1"], ["b", "a"])).toBe(consentKey(["r1", "r2"], ["a", "b"]));
    await consents.remember("alice", "c1", ["https://r"], ["a", "b"]);
    expect(consents.has("alice", "c1", ["https://r"], ["b", "a"])).toBe(true);
    expect(consents.has("alice", "c1", ["https://r"], ["a"])).toBe(false);
    expect(consents.has("alice", "c1", ["https://r"], ["a", "b", "c"])).toBe(false);
    expect(consents.has("alice", "c2", ["https://r"], ["a", "b"])).toBe(false);
    expect(consents.has("bob", "c1", ["https://r"], ["a", "b"])).toBe(false);
    expect(consents.has("alice", "c1", ["https://other"], ["a", "b"])).toBe(false);
    await consents.remember("alice", "c1", ["https://r"], []);
    expect(consents.list("alice")).toHaveLength(2);
    const [first] = consents.list("alice");
    expect(consents.revoke("alice", first!.id)).toBe(1);
    expect(consents.revoke("alice", "c1")).toBe(1);
    expect(consents.list("alice")).toHaveLength(0);
  });
});

describe("token subject (DESIGN §2 step 7)", () => {
  test("exact binding → workload acting for the user; prefix or unbound → the user", () => {
    expect(codeSubject("spiffe://td/claude", "spiffe://td/user/a")).toEqual({ subject: "spiffe://td/claude", actor: "spiffe://td/user/a" });
    expect(codeSubject("spiffe://td/agents/*", "spiffe://td/user/a")).toEqual({ subject: "spiffe://td/user/a" });
    expect(codeSubject(undefined, "spiffe://td/user/a")).toEqual({ subject: "spiffe://td/user/a" });
  });
});

describe("HTML and relying party", () => {
  test("every interpolation is escaped", () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe("&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;");
    expect(html`<p title="${'"><script>'}">${"<b>"}</p>`.value).toBe('<p title="&#34;&#62;&#60;script&#62;">&#60;b&#62;</p>');
  });
  test("an IP issuer cannot host passkeys; a host name can", () => {
    expect(relyingParty("http://127.0.0.1:8443").problem).toContain("not an IP address");
    expect(relyingParty("http://[::1]:8443").problem).toContain("not an IP address");
    expect(relyingParty("http://localhost:8443").rp).toEqual({ id: "localhost", origin: "http://localhost:8443", name: "sluice" });
    expect(relyingParty("https://sluice.example.com").rp?.id).toBe("sluice.example.com");
  });
});
